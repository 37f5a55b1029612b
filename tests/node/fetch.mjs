// Usage: node fetch.mjs PROXY_URL TARGET_URL
// Prints the status line and body of TARGET_URL fetched through the proxy with undici's ProxyAgent.
import { fetch, ProxyAgent } from "undici";

const [proxy, target] = process.argv.slice(2);
const response = await fetch(target, { dispatcher: new ProxyAgent(proxy) });
const body = await response.text();
console.log(response.status);
console.log(body);
