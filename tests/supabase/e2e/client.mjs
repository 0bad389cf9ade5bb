// A Supabase frontend's calls, unmodified, against Echelon: `node client.mjs '<spec json>'`.
// The spec names the server, the anon key, the users and the rows the test made; the script runs
// each step with the real @supabase/supabase-js (loaded from spec.modules, so one script serves
// 2.109.0 on Node 20 and the newest 2.x on Node 22) and prints one JSON object of what it saw.
// The Python test (tests/realtime/test_supabase_js.py) asserts on it.
import { createRequire } from "node:module";
import path from "node:path";

const spec = JSON.parse(process.argv[2]);
const require = createRequire(path.join(spec.modules, "package.json"));
const { createClient } = require("@supabase/supabase-js");
const options = { auth: { persistSession: false, autoRefreshToken: false } };
if (typeof globalThis.WebSocket === "undefined") {
  options.realtime = { transport: require("ws") }; // Node 20 has no WebSocket of its own
}

const out = { version: require("@supabase/supabase-js/package.json").version, node: process.version };
const err = (e) => (e ? { status: e.status ?? null, code: e.code ?? null, message: e.message } : null);
const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms));

async function main() {
  const supabase = createClient(spec.url, spec.anonKey, options);
  const { owner, outsider } = spec;

  // --- auth ---------------------------------------------------------------------------------
  const wrong = await supabase.auth.signInWithPassword({ email: owner.email, password: "not-the-password" });
  out.wrongPassword = { error: err(wrong.error), session: wrong.data.session };
  const anonymousRead = await supabase.from("agents").select("id");
  out.anonymousRead = { data: anonymousRead.data, error: err(anonymousRead.error) };
  const signIn = await supabase.auth.signInWithPassword({ email: owner.email, password: owner.password });
  out.signIn = { error: err(signIn.error), userId: signIn.data.user?.id, tokenType: signIn.data.session?.token_type,
                 expiresIn: signIn.data.session?.expires_in };
  const user = await supabase.auth.getUser();
  out.getUser = { error: err(user.error), id: user.data.user?.id, email: user.data.user?.email,
                  metadata: user.data.user?.user_metadata, role: user.data.user?.role };

  // --- realtime: opened after sign-in, no setAuth -------------------------------------------------
  const changes = [];
  let subscribed;
  const ready = new Promise((resolve) => { subscribed = resolve; });
  const channel = supabase.channel("agent-updates")
    .on("postgres_changes", { event: "UPDATE", schema: "public", table: "agents", filter: `id=eq.${spec.agentId}` },
        (payload) => changes.push({ table: payload.table, type: payload.eventType, status: payload.new.status,
                                    name: payload.new.name }))
    .subscribe((status) => { if (status === "SUBSCRIBED") subscribed(status); });
  out.realtimeStatus = await Promise.race([ready, timeout(15000, "realtime subscribe")]);

  // --- reads ------------------------------------------------------------------------------------
  const list = await supabase.from("agents")
    .select("id, name, status, deployments(id, status), workflows(name), team:teams(name)", { count: "exact" })
    .eq("team_id", spec.teamId).in("status", ["inactive", "active", "paused"]).order("name", { ascending: true })
    .range(0, 0);
  out.list = { data: list.data, count: list.count, status: list.status, error: err(list.error) };
  const filtered = await supabase.from("agents").select("name").or(`name.eq.${spec.agentName},name.eq.nothing`)
    .not("description", "is", null).ilike("name", "%").gte("created_at", "2000-01-01");
  out.filtered = { data: filtered.data, error: err(filtered.error) };
  const inner = await supabase.from("agents").select("name, deployments!inner(status)")
    .eq("deployments.status", "pending");
  out.inner = { data: inner.data, error: err(inner.error) };
  const single = await supabase.from("agents").select("name").eq("id", spec.agentId).single();
  out.single = { data: single.data, error: err(single.error) };
  const none = await supabase.from("agents").select("name").eq("id", outsider.agentId).single();
  out.singleNone = { data: none.data, error: err(none.error), status: none.status };
  const maybe = await supabase.from("agents").select("name").eq("id", outsider.agentId).maybeSingle();
  out.maybeSingle = { data: maybe.data, error: err(maybe.error) };
  const head = await supabase.from("agents").select("*", { count: "exact", head: true });
  out.head = { count: head.count, data: head.data, error: err(head.error) };
  const badColumn = await supabase.from("workflows").select("webhook_secret");
  out.badColumn = { error: err(badColumn.error), status: badColumn.status };

  // --- writes -------------------------------------------------------------------------------------
  const created = await supabase.from("agents").insert({ name: "From supabase-js", type: "market", team_id: spec.teamId })
    .select().single();
  out.insert = { data: created.data, error: err(created.error), status: created.status };
  const id = created.data?.id;
  const many = await supabase.from("agents").insert([{ name: "Bulk one", type: "media" },
    { name: "Bulk two", type: "alarm", description: "second" }]).select("name, description, created_by");
  out.insertMany = { data: many.data, error: err(many.error) };
  const updated = await supabase.from("agents").update({ status: "paused", description: "changed" }).eq("id", id)
    .select("id, status, description");
  out.update = { data: updated.data, error: err(updated.error) };
  const upserted = await supabase.from("agents").upsert({ id, name: "Upserted" }).select("id, name");
  out.upsert = { data: upserted.data, error: err(upserted.error) };
  const statusChange = await supabase.from("agents").update({ status: "active" }).eq("id", spec.agentId).select("status");
  out.statusChange = { data: statusChange.data, error: err(statusChange.error) };
  const hidden = await supabase.from("agents").update({ secret: 1 }).eq("id", id);
  out.unknownColumn = { error: err(hidden.error), status: hidden.status };

  // --- another user's rows: invisible and unchangeable -----------------------------------------------
  const theirs = await supabase.from("agents").select("id").eq("id", outsider.agentId);
  const theirUpdate = await supabase.from("agents").update({ name: "taken" }).eq("id", outsider.agentId).select();
  const theirDelete = await supabase.from("agents").delete().eq("id", outsider.agentId).select();
  out.outsider = { read: theirs.data, update: theirUpdate.data, updateError: err(theirUpdate.error),
                   delete: theirDelete.data, deleteError: err(theirDelete.error) };

  // --- notifications --------------------------------------------------------------------------------
  const notes = await supabase.from("notifications").select("id, title, read_at, data").eq("user_id", owner.id)
    .is("read_at", null).order("created_at", { ascending: false });
  out.notifications = { data: notes.data, error: err(notes.error) };
  if (notes.data?.length) {
    const marked = await supabase.from("notifications").update({ read_at: new Date().toISOString() })
      .eq("id", notes.data[0].id).select("id, read_at");
    out.markRead = { data: marked.data, error: err(marked.error) };
  }

  // --- the change pushed to the channel opened after sign-in ---------------------------------------
  const deadline = Date.now() + 15000;
  while (!changes.some((c) => c.status === "active") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  out.changes = changes;
  await supabase.removeChannel(channel);

  const removed = await supabase.from("agents").delete().eq("id", id).select("id, name");
  out.delete = { data: removed.data, error: err(removed.error) };

  // --- refresh (rotating) and sign out -------------------------------------------------------------
  const before = (await supabase.auth.getSession()).data.session;
  const refreshed = await supabase.auth.refreshSession();
  out.refresh = { error: err(refreshed.error), changed: refreshed.data.session?.access_token !== before.access_token,
                  rotated: refreshed.data.session?.refresh_token !== before.refresh_token };
  const reused = await createClient(spec.url, spec.anonKey, options).auth.refreshSession({ refresh_token: before.refresh_token });
  out.reusedRefresh = { error: err(reused.error) };
  const latest = refreshed.data.session.refresh_token;
  const signOut = await supabase.auth.signOut();
  out.signOut = { error: err(signOut.error), session: (await supabase.auth.getSession()).data.session };
  const afterSignOut = await createClient(spec.url, spec.anonKey, options).auth.refreshSession({ refresh_token: latest });
  out.refreshAfterSignOut = { error: err(afterSignOut.error) };
}

try {
  await main();
} catch (e) {
  out.crash = String(e?.stack ?? e);
}
console.log(JSON.stringify(out));
process.exit(0);
