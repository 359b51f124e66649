/** NumPy `.npy` arrays and `.npz` archives of them. */
export { npyReader } from './npy';
export { npzReader } from './npz';
