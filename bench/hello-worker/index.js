// The baseline of `scripts/bench-edge`: about the least a worker that reads
// KV can do (one ROUTES read, a fixed text answer). Whatever the real
// workers add on top of it is their own work.
export default {
  async fetch(request, env) {
    const record = await env.ROUTES.get("v1/h/bench.example.com");
    return new Response(record === null ? "hello, nobody\n" : "hello\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  },
};
