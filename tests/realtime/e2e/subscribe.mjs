// Subscribes with the real @supabase/realtime-js client, as the seed's front end does, and
// reports what each client received. Driven by tests/realtime/test_e2e.py:
//   argv[2] = {"url": "ws://host:port/realtime/v1", "vsn": "2.0.0",
//              "clients": [{"name", "token", "channels": [{"name", "bindings": [...]}]}]}
// Prints READY once every channel is SUBSCRIBED, waits for a line on stdin, collects for a
// moment more, then prints one JSON line {"events": [...], "statuses": {...}}.
import { RealtimeClient } from '@supabase/realtime-js'
import WebSocket from 'ws'
import readline from 'node:readline'

const spec = JSON.parse(process.argv[2])
const events = []
const statuses = {}
const clients = []

for (const c of spec.clients) {
  const client = new RealtimeClient(spec.url, { params: { apikey: c.token }, transport: WebSocket, vsn: spec.vsn })
  await client.setAuth(c.token) // what supabase-js does with the session's access token
  clients.push(client)
  for (const ch of c.channels) {
    const key = `${c.name}/${ch.name}`
    statuses[key] = 'PENDING'
    let channel = client.channel(ch.name)
    for (const binding of ch.bindings) {
      channel = channel.on('postgres_changes', binding, (p) => {
        events.push({ client: c.name, channel: ch.name, table: p.table, eventType: p.eventType,
                      new: p.new, old: p.old, commit_timestamp: p.commit_timestamp, errors: p.errors })
      })
    }
    channel.subscribe((status, err) => { statuses[key] = err ? `${status}: ${err.message}` : status })
  }
}

const deadline = Date.now() + 15000
while (Object.values(statuses).some((s) => s !== 'SUBSCRIBED')) {
  if (Date.now() > deadline) {
    console.log(JSON.stringify({ error: 'not subscribed within 15 s', statuses }))
    process.exit(1)
  }
  await new Promise((r) => setTimeout(r, 50))
}
console.log('READY')

const rl = readline.createInterface({ input: process.stdin })
await new Promise((resolve) => rl.once('line', resolve))
await new Promise((r) => setTimeout(r, Number(spec.settle_ms ?? 1500)))
console.log(JSON.stringify({ events, statuses }))
rl.close()
for (const client of clients) client.disconnect()
process.exit(0)
