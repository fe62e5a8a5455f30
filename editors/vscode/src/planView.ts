// The plan view: the answer of the server's sql-lsp.explain command (its `view`, and `whatIf`
// when HypoPG priced an index for the statement) drawn as HTML: the plan as a tree with a bar for
// each node's own cost (and its actual time when analysed), the costliest node highlighted, and
// for a priced index the plans before and after side by side. No script runs in the page.

export interface PlanNodeView {
  id: string;
  label: string;
  startup_cost: number;
  total_cost: number;
  own_cost: number;
  rows: number;
  actual_total_ms: number | null;
  actual_rows: number | null;
  loops: number | null;
  own_ms: number | null;
  never_executed: boolean;
  details: string[];
  costliest: boolean;
  children: PlanNodeView[];
}

export interface PlanView {
  title: string;
  summary: string;
  statement: string | null;
  note: string | null;
  analyzed: boolean;
  total_cost: number;
  planning_ms: number | null;
  execution_ms: number | null;
  warnings: string[];
  root: PlanNodeView;
}

export interface WhatIfView {
  title: string;
  create_index: string;
  cost_before: number;
  cost_after: number;
  improvement_percent: number;
  index_used: boolean;
  before: PlanView;
  after: PlanView;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function num(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function walk(node: PlanNodeView, visit: (n: PlanNodeView) => void): void {
  visit(node);
  node.children.forEach((c) => walk(c, visit));
}

function nodeHtml(node: PlanNodeView, plan: PlanView, maxOwnMs: number, scale: number): string {
  const share = scale > 0 ? Math.max(0, Math.min(1, node.own_cost / scale)) : 0;
  const costBar =
    `<div class="bar cost" title="own cost ${num(node.own_cost)} of ${num(plan.total_cost)}">` +
    `<span style="width:${(share * 100).toFixed(1)}%"></span></div>`;
  let timing = '';
  if (plan.analyzed) {
    if (node.never_executed) {
      timing = '<span class="time">never executed</span>';
    } else if (node.own_ms !== null) {
      const t = maxOwnMs > 0 ? Math.max(0, Math.min(1, node.own_ms / maxOwnMs)) : 0;
      timing =
        `<div class="bar time" title="own time ${num(node.own_ms, 3)} ms">` +
        `<span style="width:${(t * 100).toFixed(1)}%"></span></div>` +
        `<span class="time">${num(node.own_ms, 3)} ms own · ${num(node.actual_rows, 0)} rows × ${num(node.loops, 0)}</span>`;
    }
  }
  const details = node.details.map((d) => `<div class="detail">${escapeHtml(d)}</div>`).join('');
  const children = node.children.length
    ? `<ul>${node.children.map((c) => nodeHtml(c, plan, maxOwnMs, scale)).join('')}</ul>`
    : '';
  return (
    `<li><div class="node${node.costliest ? ' costliest' : ''}" data-node="${escapeHtml(node.id)}">` +
    `<div class="head"><span class="label">${escapeHtml(node.label)}</span>` +
    (node.costliest ? '<span class="badge">costliest</span>' : '') +
    `<span class="cost">cost ${num(node.startup_cost)}..${num(node.total_cost)} · own ${num(node.own_cost)} · ${num(node.rows, 0)} rows</span></div>` +
    costBar +
    timing +
    details +
    `</div>${children}</li>`
  );
}

/** One plan: header, totals, warnings and the tree. Cost bars are shares of `scale` (default:
 * the plan's total cost; the larger total of both plans when two are compared). */
export function planSection(plan: PlanView, heading?: string, scale = plan.total_cost): string {
  let maxOwnMs = 0;
  walk(plan.root, (n) => {
    maxOwnMs = Math.max(maxOwnMs, n.own_ms ?? 0);
  });
  const totals = [
    `total cost ${num(plan.total_cost)}`,
    plan.planning_ms !== null ? `planning ${num(plan.planning_ms, 3)} ms` : '',
    plan.execution_ms !== null ? `execution ${num(plan.execution_ms, 3)} ms` : '',
  ].filter(Boolean);
  const warnings = plan.warnings.length
    ? `<ul class="warnings">${plan.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`
    : '';
  return (
    `<section class="plan"><h2>${escapeHtml(heading ?? plan.title)}</h2>` +
    `<div class="totals">${totals.map(escapeHtml).join(' · ')}</div>` +
    (plan.note ? `<div class="note">${escapeHtml(plan.note)}</div>` : '') +
    warnings +
    `<ul class="tree">${nodeHtml(plan.root, plan, maxOwnMs, scale)}</ul></section>`
  );
}

/** The whole page. `cspSource` is the webview's; no script is allowed. */
export function planHtml(view: PlanView, whatIf: WhatIfView | null | undefined, cspSource: string): string {
  const statement = view.statement ? `<pre class="statement">${escapeHtml(view.statement)}</pre>` : '';
  let body = statement + planSection(view, 'Plan');
  if (whatIf) {
    const scale = Math.max(whatIf.before.total_cost, whatIf.after.total_cost);
    body +=
      `<section class="whatif"><h2>${escapeHtml(whatIf.title)}</h2>` +
      `<pre class="statement">${escapeHtml(whatIf.create_index)}</pre>` +
      `<div class="totals">HypoPG: cost ${num(whatIf.cost_before)} → ${num(whatIf.cost_after)} ` +
      `(${num(whatIf.improvement_percent, 0)}% ${whatIf.improvement_percent >= 0 ? 'less' : 'more'})` +
      `${whatIf.index_used ? '' : ' · the plan does not use the index'}</div>` +
      `<div class="side-by-side">${planSection(whatIf.before, 'Before', scale)}${planSection(whatIf.after, 'With the index', scale)}</div>` +
      '</section>';
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(view.title)}</title>
<style>
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 16px 16px; }
h1 { font-size: 1.3em; margin: 12px 0 4px; }
h2 { font-size: 1.1em; margin: 14px 0 4px; }
.summary, .totals, .note { color: var(--vscode-descriptionForeground); margin: 2px 0 6px; }
pre.statement { font-family: var(--vscode-editor-font-family); background: var(--vscode-textCodeBlock-background); padding: 6px 8px; white-space: pre-wrap; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 18px; }
ul.tree { padding-left: 0; }
ul.tree ul { border-left: 1px solid var(--vscode-tree-indentGuidesStroke, #8884); }
.node { margin: 4px 0; padding: 4px 8px; border: 1px solid var(--vscode-panel-border, #8884); border-radius: 4px; }
.node.costliest { border-color: var(--vscode-editorWarning-foreground, #d19a00); background: var(--vscode-inputValidation-warningBackground, #d19a0022); }
.head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.label { font-weight: 600; }
.badge { font-size: 0.85em; padding: 0 6px; border-radius: 8px; background: var(--vscode-editorWarning-foreground, #d19a00); color: var(--vscode-editor-background, #fff); }
.cost, .time, .detail { color: var(--vscode-descriptionForeground); font-size: 0.92em; }
.detail { font-family: var(--vscode-editor-font-family); }
.bar { height: 6px; background: var(--vscode-editorWidget-background, #8882); border-radius: 3px; margin: 3px 0; max-width: 420px; }
.bar span { display: block; height: 100%; border-radius: 3px; min-width: 1px; }
.bar.cost span { background: var(--vscode-charts-orange, #d18616); }
.bar.time span { background: var(--vscode-charts-blue, #3794ff); }
.warnings { color: var(--vscode-editorWarning-foreground, #d19a00); }
.side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
</style></head>
<body><h1>${escapeHtml(view.title)}</h1><div class="summary">${escapeHtml(view.summary)}</div>${body}</body></html>`;
}
