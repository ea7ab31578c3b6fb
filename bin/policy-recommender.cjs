#!/usr/bin/env node
// The installed command. It checks the Node.js version before anything else, so that an older
// Node stops with one line naming the version needed, not with a syntax error from a dependency:
// this file is therefore CommonJS in ES5 syntax (it must parse on any Node), and the version it
// needs is package.json's engines.node (">=MAJOR.MINOR"). Then it runs the built CLI, dist/.
'use strict';

var path = require('path');
var engines = require('../package.json').engines.node;
var needed = /^>=(\d+)\.(\d+)$/.exec(engines);
if (needed === null) throw new Error('package.json engines.node is not ">=MAJOR.MINOR": ' + engines);
var have = process.versions.node.split('.');
var major = Number(have[0]);
var minor = Number(have[1]);
if (major < Number(needed[1]) || (major === Number(needed[1]) && minor < Number(needed[2]))) {
  process.stderr.write('policy-recommender: needs Node.js ' + needed[1] + '.' + needed[2] + ' or newer; this is Node.js ' + process.versions.node + '\n');
  process.exit(1);
}

// import() written as a string, so that a Node too old to parse it still reaches the check above.
var load = new Function('url', 'return import(url)');
load(require('url').pathToFileURL(path.join(__dirname, '..', 'dist', 'cli', 'main.js')).href).then(function (cli) {
  return cli.runCommandLine();
});
