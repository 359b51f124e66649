/**
 * The per-layer table: sortable (header buttons, aria-sort), filterable (name, kind, flag), one selected row.
 * Keyboard: Tab into the table, ↑/↓/Home/End/PageUp/PageDown move the selection (roving tabindex).
 * Layers can be added while it is shown (setReport); rows are built once per layer object and reused. Above
 * VIRTUAL_ABOVE rows only the rows in view are in the DOM (fixed row height, spacer rows above and below).
 */
import type { AnalysisReport, LayerResult } from '../../src/core/report/model';
import { h } from './dom';
import { ALPHA_OVER_TRAINED, ALPHA_UNDER_TRAINED, fmt } from './figures';
import { isNum } from './layers';
import { KIND_ORDER } from './theme';

interface Column {
  key: string;
  label: string;
  title: string;
  numeric?: boolean;
  /** Column width when the table is virtualised (fixed layout); the name column takes the rest. */
  width?: string;
  /** Sort key; undefined sorts last. */
  value(l: LayerResult): number | string | undefined;
  cell(l: LayerResult): Node | string;
}

function pill(text: string, tone: string, title?: string): HTMLElement {
  return h('span', { class: `ws-pill ws-${tone}`, title }, text);
}

function flagTone(flag: string): string {
  return flag === 'under-trained' ? 'warn' : flag === 'over-trained' || flag === 'rank-collapsed' ? 'bad' : 'caution';
}

function alphaCell(l: LayerResult): Node | string {
  if (!isNum(l.alpha)) return '—';
  const tone = l.alpha < ALPHA_OVER_TRAINED ? 'bad' : l.alpha > ALPHA_UNDER_TRAINED ? 'warn' : 'good';
  return h('span', { class: `ws-num-${tone}` }, l.alpha.toFixed(2));
}

const COLUMNS: Column[] = [
  { key: 'layer_id', width: '4.5em', label: '#', title: 'layer_id (depth order)', numeric: true, value: (l) => l.layer_id, cell: (l) => String(l.layer_id) },
  { key: 'name', label: 'Layer', title: 'Tensor name', value: (l) => l.name, cell: (l) => h('span', { class: 'ws-name', title: l.name }, l.name) },
  { key: 'kind', width: '9em', label: 'Kind', title: 'Layer role guessed from its name and shape', value: (l) => l.kind, cell: (l) => l.kind },
  {
    key: 'shape',
    width: '8.5em',
    label: 'Shape',
    title: 'Stored shape',
    numeric: true,
    value: (l) => l.shape.reduce((a, b) => a * b, 1),
    cell: (l) => l.shape.join('×'),
  },
  { key: 'alpha', width: '5em', label: 'α', title: 'WeightWatcher power-law exponent (2–6 is the well-trained range)', numeric: true, value: (l) => l.alpha, cell: alphaCell },
  { key: 'D', width: '5.5em', label: 'D', title: 'Kolmogorov–Smirnov distance of the power-law fit', numeric: true, value: (l) => l.D, cell: (l) => fmt(l.D) },
  { key: 'xmin', width: '5.5em', label: 'xmin', title: 'Start of the fitted power-law tail', numeric: true, value: (l) => l.xmin, cell: (l) => fmt(l.xmin) },
  { key: 'stable_rank', width: '7.5em', label: 'Stable rank', title: '‖W‖²_F / ‖W‖²₂', numeric: true, value: (l) => l.stable_rank, cell: (l) => fmt(l.stable_rank) },
  {
    key: 'condition_number',
    width: '7.5em',
    label: 'κ',
    title: 'Condition number σmax / σmin',
    numeric: true,
    value: (l) => l.condition_number,
    cell: (l) =>
      l.numerically_singular
        ? h('span', { class: 'ws-num-bad', title: 'σmin is at the round-off level of the stored precision: κ is not meaningful' }, `${fmt(l.condition_number)} ⚠`)
        : fmt(l.condition_number),
  },
  {
    key: 'welore',
    width: '7.5em',
    label: 'WeLore',
    title: 'Low-rank class (LRC: compressible) and the rank to keep',
    value: (l) => l.welore?.class,
    cell: (l) => (l.welore ? h('span', { title: `keep rank ${l.welore.keep_rank} of ${l.welore.keep_rank + l.welore.k}` }, pill(l.welore.class, l.welore.class === 'LRC' ? 'good' : 'neutral'), ` ${l.welore.keep_rank}`) : '—'),
  },
  { key: 'farms', width: '6.5em', label: 'FARMS α', title: 'FARMS power-law exponent (averaged over sub-matrices)', numeric: true, value: (l) => l.farms?.alpha, cell: (l) => fmt(l.farms?.alpha) },
  {
    key: 'flags',
    width: '15em',
    label: 'Flags',
    title: 'over-trained, under-trained, ill-conditioned, rank-collapsed',
    value: (l) => (l.flags?.length ? l.flags.join(',') : undefined),
    cell: (l) => h('span', { class: 'ws-flags', title: l.flags?.length ? l.flags.join(', ') : undefined }, (l.flags ?? []).map((f) => pill(f, flagTone(f)))),
  },
];

/** Columns the status text of a skipped or failed layer spans: everything after name, kind and shape. */
const STATUS_FROM = COLUMNS.findIndex((c) => c.key === 'alpha');

export interface LayerTableFilter {
  text: string;
  kind: string;
  flag: string;
}

export interface LayerTableSort {
  key: string;
  dir: 1 | -1;
}

/** What the user set up in the table, to restore it later (e.g. VS Code webview state). */
export interface LayerTableState {
  filter: LayerTableFilter;
  sort: LayerTableSort;
}

export interface LayerTableOptions {
  /** Called when the user changes the filter or the sort order. */
  onStateChange?: (state: LayerTableState) => void;
  /** Shown instead of rows while the report has no layer at all. */
  emptyText?: string;
  initial?: Partial<LayerTableState>;
}

/** Row counts above which only the rows in view are rendered. */
export const VIRTUAL_ABOVE = 200;
const OVERSCAN = 16;
const DEFAULT_ROW_HEIGHT = 29;

export class LayerTable {
  readonly element: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly headers = new Map<string, HTMLTableCellElement>();
  /** The rows in the DOM now, by layer name. */
  private readonly rows = new Map<string, HTMLTableRowElement>();
  /** Every row built so far, reused while its layer object is unchanged. */
  private readonly built = new Map<string, { layer: LayerResult; tr: HTMLTableRowElement }>();
  private readonly countEl: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly kindSelect: HTMLSelectElement;
  private readonly flagSelect: HTMLSelectElement;
  private readonly textInput: HTMLInputElement;
  private sort: LayerTableSort = { key: 'layer_id', dir: 1 };
  private filter: LayerTableFilter = { text: '', kind: '', flag: '' };
  private selected: string | undefined;
  private visible: LayerResult[] = [];
  private virtual = false;
  private rowHeight = DEFAULT_ROW_HEIGHT;
  private window: [number, number] = [0, 0];
  private scrollFrame = 0;
  private optionsKey = '';

  constructor(
    private report: AnalysisReport,
    private readonly onSelect: (name: string) => void,
    private readonly options: LayerTableOptions = {},
  ) {
    this.textInput = h('input', { type: 'search', class: 'ws-input', placeholder: 'Filter by name…', 'aria-label': 'Filter layers by name', 'data-testid': 'filter-name' });
    this.kindSelect = h('select', { class: 'ws-input', 'aria-label': 'Filter by kind', 'data-testid': 'filter-kind' });
    this.flagSelect = h('select', { class: 'ws-input', 'aria-label': 'Filter by flag', 'data-testid': 'filter-flag' });
    this.countEl = h('span', { class: 'ws-count', 'aria-live': 'polite', 'data-testid': 'layer-count' });
    this.textInput.addEventListener('input', () => this.userFilter({ text: this.textInput.value }));
    this.kindSelect.addEventListener('change', () => this.userFilter({ kind: this.kindSelect.value }));
    this.flagSelect.addEventListener('change', () => this.userFilter({ flag: this.flagSelect.value }));

    const headRow = h('tr');
    for (const c of COLUMNS) {
      const button = h('button', { type: 'button', class: 'ws-sort', title: `${c.title} — sort` }, c.label, h('span', { class: 'ws-sort-icon', 'aria-hidden': 'true' }));
      button.addEventListener('click', () => this.sortBy(c.key));
      const th = h('th', { scope: 'col', class: c.numeric ? 'ws-numeric' : undefined, 'data-column': c.key }, button);
      this.headers.set(c.key, th);
      headRow.append(th);
    }
    this.tbody = h('tbody');
    this.tbody.addEventListener('click', (e) => {
      const row = (e.target as Element).closest('tr');
      if (row?.dataset.name) this.choose(row.dataset.name, false);
    });
    this.tbody.addEventListener('keydown', (e) => this.onKey(e));
    this.table = h('table', { class: 'ws-table', role: 'grid', 'aria-label': 'Layers', 'data-testid': 'layer-table' }, h('thead', {}, headRow), this.tbody);
    this.scroller = h('div', { class: 'ws-table-scroll' }, this.table);
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.element = h(
      'div',
      { class: 'ws-table-pane' },
      h('div', { class: 'ws-filters', role: 'search' }, this.textInput, this.kindSelect, this.flagSelect, this.countEl),
      this.scroller,
    );
    if (options.initial?.filter) this.filter = { ...this.filter, ...options.initial.filter };
    if (options.initial?.sort && COLUMNS.some((c) => c.key === options.initial!.sort!.key)) this.sort = { ...options.initial.sort };
    this.render();
  }

  /** Shows `report`'s layers (e.g. more of them as an analysis streams in); filter, sort and selection stay. */
  setReport(report: AnalysisReport): void {
    this.report = report;
    this.render();
  }

  get state(): LayerTableState {
    return { filter: { ...this.filter }, sort: { ...this.sort } };
  }

  setFilter(change: Partial<LayerTableFilter>): void {
    this.filter = { ...this.filter, ...change };
    this.render();
  }

  /** Highlights `name` (without calling onSelect) and scrolls it into the table's view. */
  select(name: string | undefined): void {
    const previous = this.selected === undefined ? undefined : this.rows.get(this.selected);
    this.selected = name;
    if (previous) this.markSelected(previous, false);
    const index = name === undefined ? -1 : this.visible.findIndex((l) => l.name === name);
    if (index >= 0) this.scrollToIndex(index);
    const row = name === undefined ? undefined : this.rows.get(name);
    if (row) this.markSelected(row, true);
    this.updateTabStops();
  }

  private markSelected(row: HTMLTableRowElement, on: boolean): void {
    row.classList.toggle('ws-selected', on);
    row.setAttribute('aria-selected', String(on));
  }

  private userFilter(change: Partial<LayerTableFilter>): void {
    this.setFilter(change);
    this.revealSelection();
    this.options.onStateChange?.(this.state);
  }

  private sortBy(key: string): void {
    this.sort = this.sort.key === key ? { key, dir: this.sort.dir === 1 ? -1 : 1 } : { key, dir: 1 };
    this.render();
    this.revealSelection();
    this.options.onStateChange?.(this.state);
  }

  /** After the user re-sorted or re-filtered: the selected row in view if it is listed, else the top. */
  private revealSelection(): void {
    const index = this.selected === undefined ? -1 : this.visible.findIndex((l) => l.name === this.selected);
    if (index >= 0) this.scrollToIndex(index);
    else {
      this.scroller.scrollTop = 0;
      if (this.virtual) this.renderRows();
    }
  }

  private matches(l: LayerResult): boolean {
    const { text, kind, flag } = this.filter;
    if (text && !l.name.toLowerCase().includes(text.toLowerCase())) return false;
    if (kind && l.kind !== kind) return false;
    if (flag === '*') return (l.flags?.length ?? 0) > 0;
    if (flag === '!') return !!(l.skipped || l.error);
    if (flag) return !!l.flags?.includes(flag);
    return true;
  }

  /** The kind and flag choices of the layers present (they grow while an analysis streams in). */
  private updateFilterOptions(): void {
    const layers = this.report.layers;
    const kinds = [...new Set(layers.map((l) => l.kind as string))].sort(
      (a, b) => KIND_ORDER.indexOf(a as LayerResult['kind']) - KIND_ORDER.indexOf(b as LayerResult['kind']),
    );
    const flags = [...new Set(layers.flatMap((l) => l.flags ?? []))].sort();
    // Keep a restored or chosen value selectable even before a layer with it has arrived.
    if (this.filter.kind && !kinds.includes(this.filter.kind)) kinds.push(this.filter.kind);
    if (this.filter.flag && !['*', '!'].includes(this.filter.flag) && !flags.includes(this.filter.flag)) flags.push(this.filter.flag);
    const key = `${kinds.join('|')}\u0000${flags.join('|')}`;
    if (key !== this.optionsKey) {
      this.optionsKey = key;
      this.kindSelect.replaceChildren(h('option', { value: '' }, 'All kinds'), ...kinds.map((k) => h('option', { value: k }, k)));
      this.flagSelect.replaceChildren(
        h('option', { value: '' }, 'Any flags'),
        h('option', { value: '*' }, 'Flagged only'),
        ...flags.map((f) => h('option', { value: f }, f)),
        h('option', { value: '!' }, 'Not analysed'),
      );
    }
    if (this.textInput.value !== this.filter.text) this.textInput.value = this.filter.text;
    this.kindSelect.value = this.filter.kind;
    this.flagSelect.value = this.filter.flag;
  }

  private render(): void {
    this.updateFilterOptions();
    const col = COLUMNS.find((c) => c.key === this.sort.key)!;
    const { dir } = this.sort;
    this.visible = this.report.layers.filter((l) => this.matches(l)).sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      if (va === undefined || vb === undefined) return va === vb ? a.layer_id - b.layer_id : va === undefined ? 1 : -1;
      const cmp = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb), undefined, { numeric: true });
      return cmp * dir || a.layer_id - b.layer_id;
    });
    for (const [key, th] of this.headers) th.setAttribute('aria-sort', key === this.sort.key ? (dir === 1 ? 'ascending' : 'descending') : 'none');
    this.table.setAttribute('aria-rowcount', String(this.visible.length + 1));
    const total = this.report.layers.length;
    this.countEl.textContent = `${this.visible.length} of ${total} ${total === 1 ? 'layer' : 'layers'}`;
    const virtual = this.visible.length > VIRTUAL_ABOVE;
    if (virtual !== this.virtual) {
      this.virtual = virtual;
      this.table.classList.toggle('ws-virtual', virtual);
      for (const c of COLUMNS) this.headers.get(c.key)!.style.width = virtual && c.width ? c.width : '';
    }
    this.window = [-1, -1];
    this.renderRows();
  }

  /** The rows from the visible list that belong in the DOM now: all of them, or those in view when virtual. */
  private renderRows(): void {
    let [start, end] = [0, this.visible.length];
    if (this.virtual) {
      const first = Math.floor(this.scroller.scrollTop / this.rowHeight);
      const count = Math.ceil((this.scroller.clientHeight || 600) / this.rowHeight);
      start = Math.max(0, first - OVERSCAN);
      end = Math.min(this.visible.length, first + count + OVERSCAN);
      if (start === this.window[0] && end === this.window[1]) return;
    }
    this.window = [start, end];
    this.rows.clear();
    const trs: HTMLTableRowElement[] = [];
    for (let i = start; i < end; i++) trs.push(this.row(this.visible[i], i));
    const children: HTMLTableRowElement[] = [];
    if (start > 0) children.push(this.spacer(start));
    children.push(...trs);
    if (end < this.visible.length) children.push(this.spacer(this.visible.length - end));
    if (this.visible.length === 0) {
      const text = this.report.layers.length === 0 ? (this.options.emptyText ?? 'This report has no layers.') : 'No layer matches the filter.';
      children.push(h('tr', { class: 'ws-empty-row' }, h('td', { colspan: COLUMNS.length, class: 'ws-empty', 'data-testid': 'table-empty' }, text)));
    }
    this.tbody.replaceChildren(...children);
    if (this.virtual && trs.length > 0) {
      const measured = trs[0].getBoundingClientRect().height;
      if (measured > 0 && Math.abs(measured - this.rowHeight) > 0.5) {
        this.rowHeight = measured;
        for (const s of children) if (s.classList.contains('ws-spacer')) s.style.height = `${Number(s.dataset.rows) * measured}px`;
      }
    }
    const selectedRow = this.selected === undefined ? undefined : this.rows.get(this.selected);
    if (selectedRow) this.markSelected(selectedRow, true);
    this.updateTabStops();
  }

  private spacer(rows: number): HTMLTableRowElement {
    const tr = h('tr', { class: 'ws-spacer', 'aria-hidden': 'true', 'data-rows': rows }, h('td', { colspan: COLUMNS.length }));
    tr.style.height = `${rows * this.rowHeight}px`;
    return tr;
  }

  private onScroll(): void {
    if (!this.virtual || this.scrollFrame) return;
    this.scrollFrame = requestAnimationFrame(() => {
      this.scrollFrame = 0;
      this.renderRows();
    });
  }

  private row(l: LayerResult, index: number): HTMLTableRowElement {
    let entry = this.built.get(l.name);
    if (!entry || entry.layer !== l) {
      entry = { layer: l, tr: this.buildRow(l) };
      this.built.set(l.name, entry);
    }
    const tr = entry.tr;
    tr.setAttribute('aria-rowindex', String(index + 2));
    if (tr.classList.contains('ws-selected') && l.name !== this.selected) this.markSelected(tr, false);
    this.rows.set(l.name, tr);
    return tr;
  }

  private buildRow(l: LayerResult): HTMLTableRowElement {
    const tr = h('tr', { 'data-name': l.name, 'data-layer-name': l.name, tabindex: -1, 'aria-selected': 'false' });
    const status = l.error ? { tone: 'bad', label: 'failed', text: l.error } : l.skipped ? { tone: 'neutral', label: 'skipped', text: l.skipped } : undefined;
    if (status) tr.classList.add('ws-not-analysed');
    COLUMNS.forEach((c, i) => {
      if (status && i === STATUS_FROM) {
        tr.append(h('td', { colspan: COLUMNS.length - STATUS_FROM, class: 'ws-status', title: status.text }, pill(status.label, status.tone), ' ', status.text));
      } else if (!status || i < STATUS_FROM) {
        tr.append(h('td', { class: c.numeric ? 'ws-numeric' : undefined }, c.cell(l)));
      }
    });
    return tr;
  }

  /** One row is reachable with Tab: the selected one if rendered, else the first. */
  private updateTabStops(): void {
    const stop = (this.selected !== undefined && this.rows.get(this.selected)) || this.rows.values().next().value;
    for (const row of this.rows.values()) row.tabIndex = row === stop ? 0 : -1;
  }

  private choose(name: string, focus: boolean): void {
    this.select(name);
    if (focus) this.rows.get(name)?.focus({ preventScroll: true });
    this.onSelect(name);
  }

  private onKey(e: KeyboardEvent): void {
    const row = (e.target as Element).closest('tr');
    const i = this.visible.findIndex((l) => l.name === row?.dataset.name);
    if (i < 0) return;
    const page = Math.max(1, Math.floor(this.scroller.clientHeight / (row!.offsetHeight || this.rowHeight)) - 1);
    const target = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: this.visible.length - 1, PageDown: i + page, PageUp: i - page }[e.key];
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.choose(this.visible[i].name, true);
    } else if (target !== undefined) {
      e.preventDefault();
      this.choose(this.visible[Math.max(0, Math.min(this.visible.length - 1, target))].name, true);
    }
  }

  /** Scrolls the pane so visible row `index` is in view (rendering it first when virtual). */
  private scrollToIndex(index: number): void {
    const pane = this.scroller;
    const head = this.table.tHead?.getBoundingClientRect().height ?? 0;
    let top: number;
    let height: number;
    const row = this.rows.get(this.visible[index].name);
    if (row && row.isConnected) {
      top = row.offsetTop;
      height = row.offsetHeight;
    } else {
      top = head + index * this.rowHeight;
      height = this.rowHeight;
    }
    if (top - head < pane.scrollTop) pane.scrollTop = top - head;
    else if (top + height > pane.scrollTop + pane.clientHeight) pane.scrollTop = top + height - pane.clientHeight;
    if (this.virtual) this.renderRows();
  }
}
