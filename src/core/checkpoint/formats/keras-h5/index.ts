import { CheckpointError } from '../../../errors';
import type { FormatReader } from '../../types';

/** Placeholder until the keras-h5 reader lands. */
export const reader: FormatReader = {
  format: 'keras-h5',
  match: () => 0,
  open: async (path) => {
    throw new CheckpointError('unsupported', path, 'keras-h5', 'reader not implemented yet');
  },
};
