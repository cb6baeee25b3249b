// The same recorded AMI stream through the npm package asterisk-manager:
// node ami_node_bench.js NODE_MODULES_DIR PORT USER SECRET
// Counts 'managerevent' until the server closes the link, prints one line:
// "node events N"
'use strict';
const path = require('path');
const [modDir, port, user, secret] = process.argv.slice(2);
const Manager = require(path.join(modDir, 'asterisk-manager'));
let events = 0;
const ami = new Manager(Number(port), '127.0.0.1', user, secret, true);
ami.on('managerevent', () => { events++; });
ami.on('close', () => {
  console.log('node events ' + events);
  process.exit(0);
});
