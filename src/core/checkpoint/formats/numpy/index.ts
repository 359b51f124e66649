import { CheckpointError } from '../../../errors';
import type { FormatReader } from '../../types';

/** Placeholder until the npy reader lands. */
export const npyReader: FormatReader = {
  format: 'npy',
  match: () => 0,
  open: async (path) => {
    throw new CheckpointError('unsupported', path, 'npy', 'reader not implemented yet');
  },
};

/** Placeholder until the npz reader lands. */
export const npzReader: FormatReader = {
  format: 'npz',
  match: () => 0,
  open: async (path) => {
    throw new CheckpointError('unsupported', path, 'npz', 'reader not implemented yet');
  },
};
