// The same recorded FreeSWITCH event stream through the npm package modesl:
// node esl_node_bench.js NODE_MODULES_DIR PORT PASSWORD
// Connects (modesl answers auth/request with the password), subscribes with
// "event plain all", counts text/event-plain events until the server closes
// the link, then prints one line:
// "node events N cpu_us C maxrss_kb R" (C: CPU from the subscription reply on)
'use strict';
const path = require('path');
const [modDir, port, password] = process.argv.slice(2);
const esl = require(path.join(modDir, 'modesl'));
let events = 0;
let cpu0 = null;
const conn = new esl.Connection('127.0.0.1', Number(port), password, () => {
  conn.events('plain', 'all', () => { cpu0 = process.cpuUsage(); });
});
conn.on('esl::event::**', (evt, headers) => {
  if (headers && headers['Content-Type'] === 'text/event-plain') events++;
});
conn.on('esl::end', () => {
  const cpu = process.cpuUsage(cpu0 || undefined);
  console.log('node events ' + events + ' cpu_us ' + (cpu.user + cpu.system) +
              ' maxrss_kb ' + process.resourceUsage().maxRSS);
  process.exit(0);
});
conn.on('error', (e) => {
  console.log('node error ' + (e && e.message));
  process.exit(1);
});
