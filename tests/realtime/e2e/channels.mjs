// Broadcast, presence and private channels with the real @supabase/realtime-js (loaded from
// spec.modules: 2.109.0 on Node 20 from the repository's node_modules, the newest 2.x on Node 22
// from tests/supabase/e2e/node22). Driven by tests/realtime/test_e2e_channels.py:
//   argv[2] = {url, anonKey, modules, agentId, owner: {token}, viewer: {token}, outsider: {token}}
// Prints READY after the broadcasts of the old 4003 case were sent, waits for a line on stdin
// (the test then changes the agent), and prints one JSON line of what every client saw.
import { createRequire } from 'node:module'
import path from 'node:path'
import readline from 'node:readline'

const spec = JSON.parse(process.argv[2])
const require = createRequire(path.join(spec.modules, 'package.json'))
const { RealtimeClient } = require('@supabase/realtime-js')
const out = { version: require('@supabase/realtime-js/package.json').version, node: process.version,
              statuses: {}, errors: {}, sends: {}, events: { owner: [], viewer: [], outsider: [] }, presence: {} }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const waitFor = async (what, predicate, ms = 10000) => {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`)
    await sleep(20)
  }
}
const stdin = readline.createInterface({ input: process.stdin })
const nextLine = () => new Promise((resolve) => stdin.once('line', resolve))

async function connect (token) {
  const options = { params: { apikey: spec.anonKey } } // as supabase-js: the anon key, then the user's token
  if (typeof globalThis.WebSocket === 'undefined') options.transport = require('ws') // Node 20
  const client = new RealtimeClient(spec.url, options)
  await client.setAuth(token)
  return client
}

const view = (payload) => (payload instanceof ArrayBuffer || payload?.constructor?.name === 'ArrayBuffer')
  ? { bytes: Array.from(new Uint8Array(payload)) } : payload

function channel (client, who, name, config) {
  const ch = client.channel(name, { config })
  ch.on('broadcast', { event: '*' }, (m) => out.events[who].push({ channel: name, kind: 'broadcast', event: m.event,
                                                                    payload: view(m.payload) }))
  ch.on('presence', { event: 'join' }, ({ key }) => out.events[who].push({ channel: name, kind: 'join', key }))
  ch.on('presence', { event: 'leave' }, ({ key }) => out.events[who].push({ channel: name, kind: 'leave', key }))
  return ch
}

function subscribe (key, ch) {
  return new Promise((resolve) => {
    let done = false
    ch.subscribe((status, err) => { // the first outcome; a later one (an error, a close) is kept apart
      if (err) (out.errors[key] ??= []).push(`${status}: ${err.message}`)
      if (done) { out.statuses[`${key} later`] = status; return }
      out.statuses[key] = status
      if (['SUBSCRIBED', 'CHANNEL_ERROR', 'TIMED_OUT'].includes(status)) { done = true; resolve(status) }
    })
  })
}

async function main () {
  const owner = await connect(spec.owner.token)
  const viewer = await connect(spec.viewer.token)
  const outsider = await connect(spec.outsider.token)
  const agentTopic = `agent:${spec.agentId}`

  // the old 4003 case: postgres_changes on one channel, broadcast on another, one socket
  const changes = []
  const feed = owner.channel('feed').on('postgres_changes',
    { event: 'UPDATE', schema: 'public', table: 'agents', filter: `id=eq.${spec.agentId}` },
    (p) => changes.push({ status: p.new.status }))
  const ownerRoom = channel(owner, 'owner', 'room:e2e', { broadcast: { self: true, ack: true } })
  const viewerRoom = channel(viewer, 'viewer', 'room:e2e', { broadcast: { self: false } })
  const outsiderRoom = channel(outsider, 'outsider', 'room:other', {})
  // private channels: the agent's owner (writer) and a team viewer (reader); the outsider is refused,
  // and its public channel of the same name is another channel
  const ownerAgent = channel(owner, 'owner', agentTopic, { private: true, broadcast: { ack: true }, presence: { key: 'owner' } })
  const viewerAgent = channel(viewer, 'viewer', agentTopic, { private: true, broadcast: { ack: true }, presence: { key: 'viewer' } })
  const outsiderAgent = channel(outsider, 'outsider', agentTopic, { private: true, presence: { key: 'outsider' } })
  await Promise.all([subscribe('owner/feed', feed), subscribe('owner/room', ownerRoom), subscribe('viewer/room', viewerRoom),
    subscribe('outsider/room', outsiderRoom), subscribe('owner/agent', ownerAgent), subscribe('viewer/agent', viewerAgent)])
  out.statuses['outsider/agent'] = await subscribe('outsider/agent', outsiderAgent)
  await outsider.removeChannel(outsiderAgent) // realtime-js keeps one channel per topic per client
  const outsiderPublic = channel(outsider, 'outsider', agentTopic, {})
  out.statuses['outsider/agent-public'] = await subscribe('outsider/agent-public', outsiderPublic)

  out.sends.json = await ownerRoom.send({ type: 'broadcast', event: 'json', payload: { a: 1 } })
  out.sends.binary = await ownerRoom.send({ type: 'broadcast', event: 'binary', payload: new Uint8Array([1, 2, 3, 255]).buffer })
  out.sends.viewer = await viewerRoom.send({ type: 'broadcast', event: 'from-viewer', payload: { v: true } })
  console.log('READY')
  await nextLine() // the test changed the agent 
  await waitFor('the postgres_changes UPDATE after the broadcasts', () => changes.length > 0)
  out.changes = changes
  out.feedState = feed.state

  // private broadcast: the writer's reaches the reader; the reader may not send
  out.sends.privateOwner = await ownerAgent.send({ type: 'broadcast', event: 'selected', payload: { node: 1 } })
  out.sends.privateViewer = await viewerAgent.send({ type: 'broadcast', event: 'denied', payload: { node: 2 } })
  // HTTP: httpSend (newer clients) and send()'s REST fallback of a channel never joined
  if (typeof ownerAgent.httpSend === 'function') {
    out.sends.httpSend = await ownerAgent.httpSend('http', { h: 1 }).then((r) => r.success, (e) => e.message)
  }
  const poster = await connect(spec.owner.token)
  out.sends.rest = await poster.channel('room:e2e').send({ type: 'broadcast', event: 'rest', payload: { r: 1 } })

  // presence: both track; each sees both; the viewer leaves
  out.sends.trackOwner = await ownerAgent.track({ page: 'agent' })
  out.sends.trackViewer = await viewerAgent.track({ page: 'agent' })
  await waitFor('presence sync', () => Object.keys(ownerAgent.presenceState()).length === 2 &&
    Object.keys(viewerAgent.presenceState()).length === 2)
  out.presence.owner = Object.keys(ownerAgent.presenceState()).sort()
  out.presence.viewer = Object.keys(viewerAgent.presenceState()).sort()
  out.presence.metas = ownerAgent.presenceState().viewer.map((m) => m.page)
  await viewer.removeChannel(viewerAgent)
  await waitFor('presence leave', () => out.events.owner.some((e) => e.kind === 'leave' && e.key === 'viewer'))
  out.presence.afterLeave = Object.keys(ownerAgent.presenceState()).sort()
  await waitFor('the HTTP broadcasts', () => out.events.viewer.filter((e) => e.event === 'rest').length === 1)
  // a barrier, not a wait: an "end" on each of the outsider's channels, after everything else;
  // the server writes a socket's frames in order, so what the outsider got by then is all it gets
  const ends = [agentTopic, 'room:other'].map((name) => poster.channel(name, { config: { broadcast: { ack: true } } }))
  for (const [index, ch] of ends.entries()) await subscribe(`poster/${index}`, ch)
  for (const ch of ends) out.sends.end = await ch.send({ type: 'broadcast', event: 'end', payload: {} })
  await waitFor('the ends', () => out.events.outsider.filter((e) => e.event === 'end').length === 2)
  for (const client of [owner, viewer, outsider, poster]) client.disconnect()
}

main().then(() => {
  console.log(JSON.stringify(out))
  process.exit(0)
}, (error) => {
  out.crash = String(error?.stack ?? error)
  console.log(JSON.stringify(out))
  process.exit(0)
})
