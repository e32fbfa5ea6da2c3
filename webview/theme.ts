/** Colours and fonts of the current VS Code theme, read from the CSS variables VS Code sets on the body. */
export interface Theme {
  background: string;
  foreground: string;
  /** Colour of masked cells (the upper triangle of causal attention). */
  masked: string;
  accent: string;
  positive: string;
  negative: string;
  cellText: string;
  hoverBackground: string;
  fontFamily: string;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function readTheme(): Theme {
  return {
    background: cssVar('--vscode-editor-background', '#1e1e1e'),
    foreground: cssVar('--vscode-foreground', '#cccccc'),
    masked: cssVar('--vscode-editorWidget-border', '#454545'),
    accent: cssVar('--vscode-focusBorder', '#007fd4'),
    positive: cssVar('--vscode-charts-blue', '#3794ff'),
    negative: cssVar('--vscode-charts-red', '#f14c4c'),
    cellText: cssVar('--vscode-editor-foreground', '#d4d4d4'),
    hoverBackground: cssVar('--vscode-editorHoverWidget-background', '#252526'),
    fontFamily: cssVar('--vscode-editor-font-family', 'monospace'),
  };
}

/** A two-stop colour scale from the background (0) to `colour` (1). */
export function scaleTo(theme: Theme, colour: string): [number, string][] {
  return [[0, theme.background], [1, colour]];
}
