import { LIMITS } from '../../../errors';
import { h5Call } from './h5-runtime';
import { absolute, type H5File, H5Tree } from './h5-tree';

/**
 * keras-model: a full Keras 2 model (`model.save`): weights under model_weights/, which has `layer_names`.
 * keras-weights: `model.save_weights`: the layer groups at the root, which has `layer_names`.
 * hdf5: any other HDF5 file: every dataset, in HDF5's listing order.
 */
export type H5Layout = 'keras-model' | 'keras-weights' | 'hdf5';

export interface DatasetListing {
  layout: H5Layout;
  /** Dataset paths relative to the root, without the leading '/', in the order Keras loads them. */
  paths: string[];
  /** Soft and external links passed over (they are not followed), by path. */
  skippedLinks: string[];
}

const MAX_ATTRIBUTE_BYTES = LIMITS.maxStringBytes;

function attributeNames(f: H5File, objPath: string): string[] {
  return h5Call(f.fail, `listing the attributes of "${objPath}"`, () => f.h5.mod.get_attribute_names(f.id, objPath));
}

/** Reads one attribute after checking its stored size, so a hostile header cannot make us allocate. */
export function readAttribute(f: H5File, objPath: string, name: string): unknown {
  const doing = `reading attribute "${name}" of "${objPath}"`;
  const meta = h5Call(f.fail, doing, () => f.h5.mod.get_attribute_metadata(f.id, objPath, name));
  const bytes = meta.size * meta.total_size;
  if (!Number.isFinite(bytes) || bytes > MAX_ATTRIBUTE_BYTES) {
    throw f.fail('too_large', `attribute "${name}" of "${objPath}" declares ${bytes} bytes`);
  }
  return h5Call(f.fail, doing, () => new f.h5.lib.Group(f.id, objPath).get_attribute(name, false));
}

/** A list of names as Keras stores it: fixed-length byte strings, variable-length strings, or an empty float array. */
function asNameList(f: H5File, value: unknown, what: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  if (ArrayBuffer.isView(value) && (value as Uint8Array).length === 0) return []; // np.asarray([]) of a layer without weights
  throw f.fail('corrupt', `${what} is not a list of names`);
}

/**
 * Keras's load_attributes_from_hdf5_group: an attribute too large for an object header is split into
 * `name0`, `name1`, ... (keras/saving/legacy/hdf5_format.py). Undefined when the attribute is absent.
 */
export function readNameList(f: H5File, objPath: string, name: string): string[] | undefined {
  const present = new Set(attributeNames(f, objPath));
  const parts: string[] = [];
  if (present.has(name)) parts.push(name);
  else while (present.has(`${name}${parts.length}`)) parts.push(`${name}${parts.length}`);
  if (!parts.length) return undefined;
  const names: string[] = [];
  for (const p of parts) {
    names.push(...asNameList(f, readAttribute(f, objPath, p), `attribute "${p}" of "${objPath}"`));
    if (names.length > LIMITS.maxTensorCount) throw f.fail('too_large', `attribute "${name}" of "${objPath}" lists over ${LIMITS.maxTensorCount} names`);
  }
  return names;
}

function hasNameList(f: H5File, objPath: string, name: string): boolean {
  const present = attributeNames(f, objPath);
  return present.includes(name) || present.includes(`${name}0`);
}

/** Lists the datasets of the file in the order a reader should show them. */
export function listDatasets(f: H5File): DatasetListing {
  const tree = new H5Tree(f);
  const base = 'model_weights';
  if (tree.hasChild('', base) && tree.linkKind(base) === 'hard' && tree.isGroup(base)) {
    if (hasNameList(f, absolute(base), 'layer_names')) return listKeras(tree, 'keras-model', base);
  }
  if (hasNameList(f, '/', 'layer_names')) return listKeras(tree, 'keras-weights', '');
  const { datasets, links } = tree.listDatasets();
  return { layout: 'hdf5', paths: datasets, skippedLinks: links };
}

/** Keras order: `layer_names`, then each layer's `weight_names` (keras/saving/legacy/hdf5_format.py, load_weights_from_hdf5_group). */
function listKeras(tree: H5Tree, layout: H5Layout, base: string): DatasetListing {
  const { f } = tree;
  const prefix = base ? `${base}/` : '';
  const layers = readNameList(f, absolute(base), 'layer_names') ?? [];
  // tf.keras 2.13+ also saves weights owned by the model itself in this group, not named in layer_names.
  const extra = 'top_level_model_weights';
  const withTop =
    !layers.includes(extra) &&
    tree.hasChild(base, extra) &&
    tree.hardPathProblem(prefix + extra) === undefined &&
    tree.isGroup(prefix + extra) &&
    hasNameList(f, absolute(prefix + extra), 'weight_names');
  const paths: string[] = [];
  for (const layer of withTop ? [...layers, extra] : layers) {
    const group = prefix + layer;
    const problem = tree.hardPathProblem(group) ?? (tree.isGroup(group) ? undefined : 'it is not a group');
    if (problem) throw f.fail('corrupt', `layer_names lists "${layer}" but the file has no layer group "${group}" (${problem})`);
    const weights = readNameList(f, absolute(group), 'weight_names');
    if (!weights) throw f.fail('corrupt', `layer group "${group}" has no weight_names attribute`);
    for (const w of weights) {
      const rel = `${group}/${w}`;
      const missing = tree.hardPathProblem(rel) ?? (tree.isDataset(rel) ? undefined : 'it is not a dataset');
      if (missing) throw f.fail('corrupt', `weight_names of layer "${layer}" lists "${w}" but "${rel}" is not a dataset stored in the file (${missing})`);
      paths.push(rel);
    }
  }
  return { layout, paths, skippedLinks: [] };
}
