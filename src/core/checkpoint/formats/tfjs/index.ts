import { CheckpointError } from '../../../errors';
import type { FormatReader } from '../../types';

/** Placeholder until the tfjs reader lands. */
export const reader: FormatReader = {
  format: 'tfjs',
  match: () => 0,
  open: async (path) => {
    throw new CheckpointError('unsupported', path, 'tfjs', 'reader not implemented yet');
  },
};
