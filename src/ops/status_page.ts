/**
 * The web status page: one self-contained HTML document (inline CSS, JS and
 * SVG; nothing fetched from anywhere but its own /status.json), allowed to
 * run only its own nonce-tagged script and style by its Content-Security-Policy.
 * The script polls /status.json once a second and redraws the clients, the
 * routes and the traffic graph; a client's Kill button POSTs /kill with the
 * page's CSRF token.
 */

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.6em}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;font-variant-numeric:tabular-nums}
th{background:#eee}
button{cursor:pointer}
#graph{background:#fff;border:1px solid #ddd}.grid line{stroke:#eee}#graph text{font-size:10px;fill:#999}
.in{stroke:#1f77b4}.out{stroke:#d62728}
.legend span{display:inline-block;width:1em;height:.25em;vertical-align:middle;margin:0 .3em 0 1em}
.legend .in{background:#1f77b4}.legend .out{background:#d62728}
#status{color:#777}#notice{font-weight:bold}`;

const SCRIPT = `
const W=600,H=160;
const $=(id)=>document.getElementById(id);
const csrf=document.querySelector('meta[name=csrf]').content;
function bytes(n){const u=['B','KiB','MiB','GiB','TiB'];let i=0;while(n>=1024&&i<u.length-1){n/=1024;i++}return (i?n.toFixed(1):n)+' '+u[i]}
function since(t){return new Date(t*1000).toISOString().replace('T',' ').replace(/\\.\\d+Z$/,' UTC')}
function cell(tr,text){const td=document.createElement('td');td.textContent=text;tr.appendChild(td);return td}
function meshText(c){if(!c.meshPairs)return 'via server';if(!c.meshPairs.length)return 'via server (no pairs)';
 return c.meshPairs.map((p)=>p.peer+': '+p.path).join(', ')}
function drawClients(clients){const body=$('clients');body.replaceChildren();
 for(const c of clients){const tr=document.createElement('tr');tr.dataset.name=c.name;
  cell(tr,c.name);cell(tr,c.realAddress);cell(tr,[c.virtualAddress,c.virtualAddress6].filter(Boolean).join(' '));
  cell(tr,bytes(c.bytesIn));cell(tr,bytes(c.bytesOut));cell(tr,since(c.connectedSince));cell(tr,meshText(c));
  const b=document.createElement('button');b.className='kill';b.dataset.name=c.name;
  b.textContent=armed===c.name?'Confirm kill':'Kill';b.onclick=()=>armed===c.name?kill(c.name):arm(c.name,b);
  cell(tr,'').appendChild(b);body.appendChild(tr)}
 $('count').textContent=String(clients.length)}
function drawRoutes(routes){const body=$('routes');body.replaceChildren();
 for(const r of routes){const tr=document.createElement('tr');
  cell(tr,r.virtualAddress);cell(tr,r.virtualAddress.includes('/')?'iroute':'address');cell(tr,r.name);body.appendChild(tr)}}
function line(values,max){const n=values.length;return values.map((v,i)=>
 ((W*(600-n+i)/599).toFixed(1))+','+(H-H*v/max).toFixed(1)).join(' ')}
function drawGraph(t){const max=Math.max(1024,...t.bytesIn,...t.bytesOut);
 $('line-in').setAttribute('points',line(t.bytesIn,max));$('line-out').setAttribute('points',line(t.bytesOut,max));
 $('scale').textContent=bytes(max)+'/s';const last=(a)=>a.length?a[a.length-1]:0;
 $('rate').textContent='in '+bytes(last(t.bytesIn))+'/s, out '+bytes(last(t.bytesOut))+'/s';
 $('graph').dataset.end=String(t.end);$('graph').dataset.lastIn=String(last(t.bytesIn));
 $('graph').dataset.lastOut=String(last(t.bytesOut))}
async function refresh(){try{const r=await fetch('status.json',{cache:'no-store'});
 if(!r.ok)throw new Error('HTTP '+r.status);const s=await r.json();
 drawClients(s.clients);drawRoutes(s.routes);drawGraph(s.traffic);$('status').textContent='updated '+since(s.time)}
 catch(e){$('status').textContent='update failed: '+e.message}}
let armed=null;
function arm(name,b){armed=name;b.textContent='Confirm kill'}
async function kill(name){armed=null;const body=new URLSearchParams({name,csrf});
 const r=await fetch('kill',{method:'POST',body});$('notice').textContent=await r.text();refresh()}
refresh();setInterval(refresh,1000);`;

/** The page; `nonce` tags its script and style (CSP), `csrfToken` goes into its kill requests. */
export function statusPageHtml(nonce: string, csrfToken: string, title: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="csrf" content="${esc(csrfToken)}">
<style nonce="${nonce}">${STYLE}</style></head>
<body><h1>${esc(title)}</h1><div id="status">loading…</div><div id="notice"></div>
<h2>Clients (<span id="count">0</span>)</h2>
<table><thead><tr><th>name</th><th>real address</th><th>virtual address</th><th>bytes in</th><th>bytes out</th>
<th>connected since</th><th>mesh path</th><th></th></tr></thead><tbody id="clients"></tbody></table>
<h2>Traffic, last 10 minutes (per second)</h2>
<div class="legend"><span class="in"></span>in (from clients)<span class="out"></span>out (to clients) — scale <b id="scale"></b>, now <b id="rate"></b></div>
<svg id="graph" width="600" height="160" viewBox="0 0 600 160" role="img" aria-label="traffic graph">
<g class="grid"><line x1="0" y1="40" x2="600" y2="40"/><line x1="0" y1="80" x2="600" y2="80"/>
<line x1="0" y1="120" x2="600" y2="120"/><line x1="150" y1="0" x2="150" y2="160"/><line x1="300" y1="0" x2="300"
 y2="160"/><line x1="450" y1="0" x2="450" y2="160"/></g>
<text x="4" y="154">−10 min</text><text x="304" y="154">−5 min</text><text x="572" y="154">now</text>
<polyline id="line-in" class="in" fill="none" stroke-width="1.5" points=""/>
<polyline id="line-out" class="out" fill="none" stroke-width="1.5" points=""/></svg>
<h2>Routes and iroutes</h2>
<table><thead><tr><th>destination</th><th>kind</th><th>client</th></tr></thead><tbody id="routes"></tbody></table>
<script nonce="${nonce}">${SCRIPT}</script></body></html>`;
}

/** The page's Content-Security-Policy: its own nonce-tagged script and style, requests to itself only. */
export function statusPagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}
