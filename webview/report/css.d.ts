// Style sheets imported for their side effect; esbuild emits them as a .css file next to the bundle.
declare module '*.css';
