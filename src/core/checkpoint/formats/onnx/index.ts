import { CheckpointError } from '../../../errors';
import type { FormatReader } from '../../types';

/** Placeholder until the onnx reader lands. */
export const reader: FormatReader = {
  format: 'onnx',
  match: () => 0,
  open: async (path) => {
    throw new CheckpointError('unsupported', path, 'onnx', 'reader not implemented yet');
  },
};
