import { type ErrorFactory, LIMITS } from '../../../errors';
import { h5Call, type H5 } from './h5-runtime';

/** An open HDF5 file and what we need to query it. */
export interface H5File {
  h5: H5;
  id: bigint;
  fail: ErrorFactory;
}

export type LinkKind = 'hard' | 'soft' | 'external';

/**
 * Deepest group nesting we walk. h5wasm resolves every path from the root and checks each prefix
 * (H5LTpath_valid), so a query costs O(depth²); HDF5's own recursive visit (H5Lvisit2) could exhaust the
 * wasm stack on a hostile file, which aborts the library for the whole process. We walk iteratively instead.
 */
export const MAX_GROUP_DEPTH = 32;
/** Most links we inspect while listing a file without Keras attributes. */
export const MAX_LINKS = 1_000_000;

export function absolute(rel: string): string {
  return `/${rel}`;
}

/**
 * The group tree, queried one group at a time and cached. Soft and external links are reported, never
 * followed: an external link would make HDF5 open another file.
 */
export class H5Tree {
  private readonly childCache = new Map<string, string[]>();
  private readonly childSets = new Map<string, Set<string>>();
  private readonly kindCache = new Map<string, LinkKind>();
  private readonly typeCache = new Map<string, number>();

  constructor(readonly f: H5File) {}

  /** Link names in `group` (relative to the root, '' for the root), in HDF5's index order. */
  children(group: string): string[] {
    let names = this.childCache.get(group);
    if (!names) {
      names = h5Call(this.f.fail, `listing the contents of "${absolute(group)}"`, () =>
        this.f.h5.mod.get_names(this.f.id, absolute(group), false),
      );
      this.childCache.set(group, names);
    }
    return names;
  }

  hasChild(group: string, name: string): boolean {
    let set = this.childSets.get(group);
    if (!set) {
      set = new Set(this.children(group));
      this.childSets.set(group, set);
    }
    return set.has(name);
  }

  linkKind(rel: string): LinkKind {
    let kind = this.kindCache.get(rel);
    if (!kind) {
      const { mod } = this.f.h5;
      const doing = `inspecting link "${rel}"`;
      const ext = h5Call(this.f.fail, doing, () => mod.get_external_link(this.f.id, absolute(rel)));
      if (ext && typeof ext.filename === 'string') kind = 'external';
      else kind = h5Call(this.f.fail, doing, () => mod.get_symbolic_link(this.f.id, absolute(rel))) == null ? 'hard' : 'soft';
      this.kindCache.set(rel, kind);
    }
    return kind;
  }

  /** H5G_GROUP, H5G_DATASET, ... of a hard-linked object. */
  objectType(rel: string): number {
    let type = this.typeCache.get(rel);
    if (type === undefined) {
      type = h5Call(this.f.fail, `inspecting "${rel}"`, () => this.f.h5.mod.get_type(this.f.id, absolute(rel)));
      this.typeCache.set(rel, type);
    }
    return type;
  }

  /** The object's address in the file (an H5R_OBJECT reference), to visit a group reached by two hard links once. */
  objectAddress(rel: string): string {
    return h5Call(this.f.fail, `inspecting "${rel}"`, () => this.f.h5.mod.create_object_reference(this.f.id, absolute(rel))).join(',');
  }

  isGroup(rel: string): boolean {
    return this.objectType(rel) === this.f.h5.mod.H5G_GROUP;
  }

  isDataset(rel: string): boolean {
    return this.objectType(rel) === this.f.h5.mod.H5G_DATASET;
  }

  /**
   * Why `rel` is not an object reached through hard links only (every component present in its parent,
   * a hard link, intermediates groups), or undefined if it is.
   */
  hardPathProblem(rel: string): string | undefined {
    const parts = rel.split('/');
    if (parts.length > MAX_GROUP_DEPTH + 1) return `it is nested more than ${MAX_GROUP_DEPTH} groups deep`;
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const here = parts.slice(0, i + 1).join('/');
      if (!this.hasChild(parent, parts[i])) return `"${here}" does not exist`;
      const kind = this.linkKind(here);
      if (kind !== 'hard') return `"${here}" is a ${kind} link`;
      if (i < parts.length - 1 && !this.isGroup(here)) return `"${here}" is not a group`;
    }
    return undefined;
  }

  /**
   * Every hard-linked dataset, depth-first in index order (the order h5py and h5ls list them), and the
   * soft/external links passed over. Iterative, with bounded depth and link count; like H5Lvisit2, a group
   * reached again through another hard link (or a cycle) is not entered twice.
   */
  listDatasets(): { datasets: string[]; links: string[] } {
    const datasets: string[] = [];
    const links: string[] = [];
    const stack: { group: string; names: string[]; next: number; depth: number }[] = [
      { group: '', names: this.children(''), next: 0, depth: 0 },
    ];
    const entered = new Set([this.objectAddress('')]);
    let seen = 0;
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next >= top.names.length) {
        stack.pop();
        continue;
      }
      const name = top.names[top.next++];
      const rel = top.group ? `${top.group}/${name}` : name;
      if (++seen > MAX_LINKS) throw this.f.fail('too_large', `the file holds over ${MAX_LINKS} links`);
      if (this.linkKind(rel) !== 'hard') {
        links.push(rel);
      } else if (this.isDataset(rel)) {
        datasets.push(rel);
        if (datasets.length > LIMITS.maxTensorCount) throw this.f.fail('too_large', `the file holds over ${LIMITS.maxTensorCount} datasets`);
      } else if (this.isGroup(rel)) {
        const address = this.objectAddress(rel);
        if (entered.has(address)) continue;
        entered.add(address);
        if (top.depth + 1 > MAX_GROUP_DEPTH) throw this.f.fail('too_deep', `group "${rel}" is nested more than ${MAX_GROUP_DEPTH} levels deep`);
        stack.push({ group: rel, names: this.children(rel), next: 0, depth: top.depth + 1 });
      }
    }
    return { datasets, links };
  }
}
