/** What a tensor is, guessed from its name and shape; drives grouping and colours in reports. */
export type TensorKind =
  | 'attention_q'
  | 'attention_k'
  | 'attention_v'
  | 'attention_o'
  | 'attention_qkv'
  | 'mlp_up'
  | 'mlp_gate'
  | 'mlp_down'
  | 'embedding'
  | 'conv'
  | 'recurrent'
  | 'linear'
  | 'norm'
  | 'bias'
  | 'other';

interface Rule {
  kind: TensorKind;
  /** Tested against the lower-cased name with '/', ':' and '_' turned into '.' separators. */
  pattern: RegExp;
}

// Name conventions of Hugging Face transformers (BERT, GPT-2, LLaMA, Falcon), PyTorch nn modules, Keras/TF.js and GGUF (llama.cpp).
const NAME_RULES: Rule[] = [
  { kind: 'bias', pattern: /(^|\.)(bias|b)(\.0)?$/ },
  { kind: 'norm', pattern: /(norm|(^|\.)ln(\.|\d|$)|layernorm|batchnorm|(^|\.)bn\d*(\.|$)|running\.(mean|var)|num\.batches|gamma|(^|\.)beta(\.0)?$|moving\.(mean|variance))/ },
  { kind: 'embedding', pattern: /(embed|(^|\.)wte(\.|$)|(^|\.)wpe(\.|$)|token\.embd|tok\.embeddings|word\.embeddings|position\.embeddings|lm\.head|(^|\.)output\.weight$)/ },
  { kind: 'attention_qkv', pattern: /(qkv|c\.attn|query\.key\.value|in\.proj|attn\.wqkv)/ },
  { kind: 'attention_q', pattern: /(q\.proj|(^|\.)query(\.|$)|(^|\.)wq(\.|$)|attn\.q(\.|$)|attn\.q\.weight|(^|\.)q(\.|$))/ },
  { kind: 'attention_k', pattern: /(k\.proj|(^|\.)key(\.|$)|(^|\.)wk(\.|$)|attn\.k(\.|$)|(^|\.)k(\.|$))/ },
  { kind: 'attention_v', pattern: /(v\.proj|(^|\.)value(\.|$)|(^|\.)wv(\.|$)|attn\.v(\.|$)|(^|\.)v(\.|$))/ },
  { kind: 'attention_o', pattern: /(o\.proj|out\.proj|attn\.out(\.|$)|attn\.c\.proj|attention\.output\.dense|(^|\.)wo(\.|$)|attn\.o(\.|$)|attn\.output|self\.out)/ },
  { kind: 'mlp_gate', pattern: /(gate\.proj|ffn\.gate|(^|\.)w1(\.|$)|mlp\.gate)/ },
  { kind: 'mlp_up', pattern: /(up\.proj|ffn\.up|(^|\.)w3(\.|$)|(^|\.)fc1(\.|$)|c\.fc|intermediate\.dense|mlp\.up|dense\.h\.to\.4h)/ },
  { kind: 'mlp_down', pattern: /(down\.proj|ffn\.down|(^|\.)w2(\.|$)|(^|\.)fc2(\.|$)|mlp\.c\.proj|(^|\.)output\.dense|mlp\.down|dense\.4h\.to\.h)/ },
  { kind: 'recurrent', pattern: /(lstm|gru|(^|\.)rnn|weight\.ih|weight\.hh|recurrent\.kernel|(^|\.)cell(\.|$))/ },
  { kind: 'conv', pattern: /(conv|depthwise|pointwise|separable)/ },
];

/** Guesses a tensor's role from its stored name and shape (rank 4 → conv; rank ≤ 1 → bias/norm/other). */
export function guessKind(name: string, shape: readonly number[]): TensorKind {
  const n = name.toLowerCase().replace(/[/:_\-]/g, '.');
  const rank = shape.length;
  const byName = NAME_RULES.find((r) => r.pattern.test(n))?.kind;
  if (rank <= 1) {
    if (byName === 'bias' || /bias/.test(n)) return 'bias';
    if (byName === 'norm') return 'norm';
    return 'other';
  }
  if (byName === 'bias' || byName === 'norm') return rank >= 2 ? (rank === 4 ? 'conv' : 'linear') : byName;
  if (rank === 4) return byName === 'recurrent' ? 'recurrent' : 'conv';
  if (byName) return byName;
  return rank === 2 ? 'linear' : 'other';
}
