/** Which onnxruntime execution providers to try, in order; 'auto' = WebGPU, then CUDA, then CPU. */
export type ProviderName = 'webgpu' | 'cuda' | 'cpu';
export type ProviderSetting = ProviderName | 'auto';

export function providerOrder(setting: ProviderSetting | readonly ProviderName[]): ProviderName[] {
  if (Array.isArray(setting)) return [...setting, ...(setting.includes('cpu') ? [] : ['cpu' as const])];
  if (setting === 'auto') return ['webgpu', 'cuda', 'cpu'];
  return setting === 'cpu' ? ['cpu'] : [setting as ProviderName, 'cpu'];
}
