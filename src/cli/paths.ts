import * as path from 'node:path';

/** The bundled models (media/models), next to the dist/ folder this bundle runs from. */
export const BUNDLED_MODELS_DIR = path.join(__dirname, '..', 'media', 'models');
