/** Entry of the attention panel's bundle: canvases only, so its page never loads plotly. */
import { startPanel } from '../panel';
import { renderAttention } from './view';

startPanel({ attention: renderAttention });
