import { CheckpointError } from '../../../errors';
import type { FormatReader } from '../../types';

/** Placeholder until the pytorch reader lands. */
export const reader: FormatReader = {
  format: 'pytorch',
  match: () => 0,
  open: async (path) => {
    throw new CheckpointError('unsupported', path, 'pytorch', 'reader not implemented yet');
  },
};
