/** The only file that imports the webview UI toolkit: registers the few components the panels use. */
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDropdown, vsCodeLink, vsCodeOption, vsCodeTextField } from '@vscode/webview-ui-toolkit';

export function registerToolkit(): void {
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeLink(), vsCodeTextField());
}
