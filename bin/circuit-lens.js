#!/usr/bin/env node
'use strict';
// The CLI bundle is built by `npm run build` (tools/build.mjs).
require('../dist/cli.js');
