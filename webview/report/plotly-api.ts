/**
 * The slice of the plotly.js API the report uses. The page loads the plotly.js bundle once (a <script> that sets
 * window.Plotly) and hands that object to the chart code, so the standalone report and the VS Code webview
 * share one copy and neither bundle includes plotly.
 */

/** A trace or layout object as plotly.js takes it (see https://plotly.com/javascript/reference/). */
export type PlotObject = Record<string, unknown>;

export interface Figure {
  data: PlotObject[];
  layout: PlotObject;
}

export interface PlotlyClickPoint {
  customdata?: unknown;
  pointIndex?: number | number[];
  curveNumber?: number;
  data?: PlotObject;
}

/** The chart container after plotly has drawn into it. */
export interface PlotlyElement extends HTMLElement {
  on(event: 'plotly_click', handler: (e: { points: PlotlyClickPoint[] }) => void): void;
  data?: PlotObject[];
  layout?: PlotObject;
}

export interface PlotlyApi {
  react(el: HTMLElement, data: PlotObject[], layout: PlotObject, config?: PlotObject): Promise<PlotlyElement>;
  purge(el: HTMLElement): void;
  Plots: { resize(el: HTMLElement): void };
}
