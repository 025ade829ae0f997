// Writes scripts/bench-edge's seed into the local KV that `wrangler dev`
// keeps: `PUT /<binding>` with a `wrangler kv bulk put` file as the body
// (`[{ "key", "value" }, …]`) puts every pair through the binding, many at
// once. `wrangler kv bulk put --local` writes one pair at a time (about 40
// a second here, half an hour for the many-keys set); this takes minutes.
// For the benchmark only: never deployed.

const AT_ONCE = 64;

export default {
  async fetch(request, env) {
    const binding = env[new URL(request.url).pathname.slice(1)];
    if (request.method !== "PUT" || binding === undefined) {
      return new Response("PUT /ROUTES or /CONTENT with a bulk file\n", { status: 400 });
    }
    const pairs = await request.json();
    for (let at = 0; at < pairs.length; at += AT_ONCE) {
      await Promise.all(pairs.slice(at, at + AT_ONCE).map(({ key, value }) => binding.put(key, value)));
    }
    return new Response(`${pairs.length}\n`);
  },
};
