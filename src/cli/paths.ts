import * as path from 'node:path';

/** The bundled models (media/models), next to the dist/ folder this bundle runs from. */
export const BUNDLED_MODELS_DIR = path.join(__dirname, '..', 'media', 'models');

/** The public-domain text a dictionary's self-check runs on when no prompts are given. */
export const SAE_SAMPLE = path.join(__dirname, '..', 'media', 'sae-sample.txt');
