/** Entry of the bundle of the panels drawn with plotly: the logit lens and the circuit analyses. */
import { renderAnalysis } from './analysis/view';
import { renderLogitLens } from './logit-lens/view';
import { startPanel } from './panel';

startPanel({ logitLens: renderLogitLens, analysis: renderAnalysis });
