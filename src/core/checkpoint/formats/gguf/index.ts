import { CheckpointError } from '../../../errors';
import type { FormatReader } from '../../types';

/** Placeholder until the gguf reader lands. */
export const reader: FormatReader = {
  format: 'gguf',
  match: () => 0,
  open: async (path) => {
    throw new CheckpointError('unsupported', path, 'gguf', 'reader not implemented yet');
  },
};
