/**
 * The per-layer table: sortable (header buttons, aria-sort), filterable (name, kind, flag), one selected row.
 * Keyboard: Tab into the table, ↑/↓/Home/End/PageUp/PageDown move the selection (roving tabindex).
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
  { key: 'layer_id', label: '#', title: 'layer_id (depth order)', numeric: true, value: (l) => l.layer_id, cell: (l) => String(l.layer_id) },
  { key: 'name', label: 'Layer', title: 'Tensor name', value: (l) => l.name, cell: (l) => h('span', { class: 'ws-name', title: l.name }, l.name) },
  { key: 'kind', label: 'Kind', title: 'Layer role guessed from its name and shape', value: (l) => l.kind, cell: (l) => l.kind },
  {
    key: 'shape',
    label: 'Shape',
    title: 'Stored shape',
    numeric: true,
    value: (l) => l.shape.reduce((a, b) => a * b, 1),
    cell: (l) => l.shape.join('×'),
  },
  { key: 'alpha', label: 'α', title: 'WeightWatcher power-law exponent (2–6 is the well-trained range)', numeric: true, value: (l) => l.alpha, cell: alphaCell },
  { key: 'D', label: 'D', title: 'Kolmogorov–Smirnov distance of the power-law fit', numeric: true, value: (l) => l.D, cell: (l) => fmt(l.D) },
  { key: 'xmin', label: 'xmin', title: 'Start of the fitted power-law tail', numeric: true, value: (l) => l.xmin, cell: (l) => fmt(l.xmin) },
  { key: 'stable_rank', label: 'Stable rank', title: '‖W‖²_F / ‖W‖²₂', numeric: true, value: (l) => l.stable_rank, cell: (l) => fmt(l.stable_rank) },
  {
    key: 'condition_number',
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
    label: 'WeLore',
    title: 'Low-rank class (LRC: compressible) and the rank to keep',
    value: (l) => l.welore?.class,
    cell: (l) => (l.welore ? h('span', { title: `keep rank ${l.welore.keep_rank} of ${l.welore.keep_rank + l.welore.k}` }, pill(l.welore.class, l.welore.class === 'LRC' ? 'good' : 'neutral'), ` ${l.welore.keep_rank}`) : '—'),
  },
  { key: 'farms', label: 'FARMS α', title: 'FARMS power-law exponent (averaged over sub-matrices)', numeric: true, value: (l) => l.farms?.alpha, cell: (l) => fmt(l.farms?.alpha) },
  {
    key: 'flags',
    label: 'Flags',
    title: 'over-trained, under-trained, ill-conditioned, rank-collapsed',
    value: (l) => (l.flags?.length ? l.flags.join(',') : undefined),
    cell: (l) => h('span', { class: 'ws-flags' }, (l.flags ?? []).map((f) => pill(f, flagTone(f)))),
  },
];

/** Columns the status text of a skipped or failed layer spans: everything after name, kind and shape. */
const STATUS_FROM = COLUMNS.findIndex((c) => c.key === 'alpha');

export interface LayerTableFilter {
  text: string;
  kind: string;
  flag: string;
}

export class LayerTable {
  readonly element: HTMLElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly headers = new Map<string, HTMLTableCellElement>();
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private readonly countEl: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly kindSelect: HTMLSelectElement;
  private readonly flagSelect: HTMLSelectElement;
  private readonly textInput: HTMLInputElement;
  private sort: { key: string; dir: 1 | -1 } = { key: 'layer_id', dir: 1 };
  private filter: LayerTableFilter = { text: '', kind: '', flag: '' };
  private selected: string | undefined;
  private visible: LayerResult[] = [];

  constructor(
    private readonly report: AnalysisReport,
    private readonly onSelect: (name: string) => void,
  ) {
    const kinds = [...new Set(report.layers.map((l) => l.kind as string))].sort(
      (a, b) => KIND_ORDER.indexOf(a as LayerResult['kind']) - KIND_ORDER.indexOf(b as LayerResult['kind']),
    );
    const flags = [...new Set(report.layers.flatMap((l) => l.flags ?? []))].sort();
    this.textInput = h('input', { type: 'search', class: 'ws-input', placeholder: 'Filter by name…', 'aria-label': 'Filter layers by name' });
    this.kindSelect = h('select', { class: 'ws-input', 'aria-label': 'Filter by kind' }, h('option', { value: '' }, 'All kinds'), kinds.map((k) => h('option', { value: k }, k)));
    this.flagSelect = h(
      'select',
      { class: 'ws-input', 'aria-label': 'Filter by flag' },
      h('option', { value: '' }, 'Any flags'),
      h('option', { value: '*' }, 'Flagged only'),
      flags.map((f) => h('option', { value: f }, f)),
      h('option', { value: '!' }, 'Not analysed'),
    );
    this.countEl = h('span', { class: 'ws-count', 'aria-live': 'polite' });
    this.textInput.addEventListener('input', () => this.setFilter({ text: this.textInput.value }));
    this.kindSelect.addEventListener('change', () => this.setFilter({ kind: this.kindSelect.value }));
    this.flagSelect.addEventListener('change', () => this.setFilter({ flag: this.flagSelect.value }));

    const headRow = h('tr');
    for (const c of COLUMNS) {
      const button = h('button', { type: 'button', class: 'ws-sort', title: `${c.title} — sort` }, c.label, h('span', { class: 'ws-sort-icon', 'aria-hidden': 'true' }));
      button.addEventListener('click', () => this.sortBy(c.key));
      const th = h('th', { scope: 'col', class: c.numeric ? 'ws-numeric' : undefined }, button);
      this.headers.set(c.key, th);
      headRow.append(th);
    }
    this.tbody = h('tbody');
    this.tbody.addEventListener('click', (e) => {
      const row = (e.target as Element).closest('tr');
      if (row?.dataset.name) this.choose(row.dataset.name, false);
    });
    this.tbody.addEventListener('keydown', (e) => this.onKey(e));
    const table = h('table', { class: 'ws-table', role: 'grid', 'aria-label': 'Layers', 'aria-rowcount': report.layers.length + 1 }, h('thead', {}, headRow), this.tbody);
    this.scroller = h('div', { class: 'ws-table-scroll' }, table);
    this.element = h(
      'div',
      { class: 'ws-table-pane' },
      h('div', { class: 'ws-filters', role: 'search' }, this.textInput, this.kindSelect, this.flagSelect, this.countEl),
      this.scroller,
    );
    this.render();
  }

  setFilter(change: Partial<LayerTableFilter>): void {
    this.filter = { ...this.filter, ...change };
    this.textInput.value = this.filter.text;
    this.kindSelect.value = this.filter.kind;
    this.flagSelect.value = this.filter.flag;
    this.render();
  }

  /** Highlights `name` (without calling onSelect) and scrolls it into the table's view. */
  select(name: string | undefined): void {
    this.selected = name;
    for (const [n, row] of this.rows) {
      const on = n === name;
      row.classList.toggle('ws-selected', on);
      row.setAttribute('aria-selected', String(on));
    }
    this.updateTabStops();
    const row = name === undefined ? undefined : this.rows.get(name);
    if (row) this.scrollIntoPane(row);
  }

  private sortBy(key: string): void {
    this.sort = this.sort.key === key ? { key, dir: this.sort.dir === 1 ? -1 : 1 } : { key, dir: 1 };
    this.render();
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

  private render(): void {
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
    this.rows.clear();
    this.tbody.replaceChildren(...this.visible.map((l, i) => this.row(l, i)));
    this.countEl.textContent = `${this.visible.length} of ${this.report.layers.length} layers`;
    if (this.visible.length === 0) {
      this.tbody.append(h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'ws-empty' }, 'No layer matches the filter.')));
    }
    this.select(this.selected);
  }

  private row(l: LayerResult, index: number): HTMLTableRowElement {
    const tr = h('tr', { 'data-name': l.name, tabindex: -1, 'aria-rowindex': index + 2, 'aria-selected': 'false' });
    const status = l.error ? { tone: 'bad', label: 'failed', text: l.error } : l.skipped ? { tone: 'neutral', label: 'skipped', text: l.skipped } : undefined;
    if (status) tr.classList.add('ws-not-analysed');
    COLUMNS.forEach((c, i) => {
      if (status && i === STATUS_FROM) {
        tr.append(h('td', { colspan: COLUMNS.length - STATUS_FROM, class: 'ws-status' }, pill(status.label, status.tone), ' ', status.text));
      } else if (!status || i < STATUS_FROM) {
        tr.append(h('td', { class: c.numeric ? 'ws-numeric' : undefined }, c.cell(l)));
      }
    });
    this.rows.set(l.name, tr);
    return tr;
  }

  /** One row is reachable with Tab: the selected one if visible, else the first. */
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
    const page = Math.max(1, Math.floor(this.scroller.clientHeight / (row!.offsetHeight || 28)) - 1);
    const target = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: this.visible.length - 1, PageDown: i + page, PageUp: i - page }[e.key];
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.choose(this.visible[i].name, true);
    } else if (target !== undefined) {
      e.preventDefault();
      this.choose(this.visible[Math.max(0, Math.min(this.visible.length - 1, target))].name, true);
    }
  }

  private scrollIntoPane(row: HTMLElement): void {
    const pane = this.scroller;
    const head = pane.querySelector('thead')?.getBoundingClientRect().height ?? 0;
    const top = row.offsetTop;
    if (top - head < pane.scrollTop) pane.scrollTop = top - head;
    else if (top + row.offsetHeight > pane.scrollTop + pane.clientHeight) pane.scrollTop = top + row.offsetHeight - pane.clientHeight;
  }
}
