/** Entry of the bundle of the panels drawn with plotly: the logit lens, the circuit analyses and the Features panel. */
import { renderAnalysis } from './analysis/view';
import { renderFeatures } from './features/view';
import { renderLogitLens } from './logit-lens/view';
import { startPanel } from './panel';

startPanel({ logitLens: renderLogitLens, analysis: renderAnalysis, features: renderFeatures });
