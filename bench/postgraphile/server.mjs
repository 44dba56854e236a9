// PostGraphile v5 over the benchmark's nation: a peer of helsegraf in `python -m bench all`.
//
//   node bench/postgraphile/server.mjs --database-url URL --port P [--workers N] [--pool-size M]
//
// Node runs JavaScript on one thread, so the server forks N processes with node:cluster that share
// the listening socket (N = helsegraf's --workers), each with a pg pool of M connections (helsegraf's
// read pool size per worker). GET /healthz answers 200 once this process's schema is built.
// bench/postgraphile/schema.sql must have been applied to the database first (computed columns).
import cluster from "node:cluster";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { jsonPgSmartTags } from "postgraphile/utils";

const { values } = parseArgs({
  options: {
    "database-url": { type: "string" },
    port: { type: "string" },
    workers: { type: "string", default: "1" },
    "pool-size": { type: "string", default: "10" },
  },
});
if (!values["database-url"] || !values.port) {
  console.error("usage: node server.mjs --database-url URL --port P [--workers N] [--pool-size M]");
  process.exit(2);
}

if (cluster.isPrimary && Number(values.workers) > 1) {
  for (let i = 0; i < Number(values.workers); i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers)) worker.kill("SIGTERM");
    process.exit(0);
  });
} else {
  // The registers keep no foreign keys across registers; this virtual one lets a contract reach its office.
  const tags = jsonPgSmartTags({
    version: 1,
    config: {
      class: {
        flr_gp_contract: {
          tags: { foreignKey: "(office_org_number) references bed_organization (org_number)|@fieldName office" },
        },
      },
    },
  });
  const preset = {
    extends: [PostGraphileAmberPreset],
    plugins: [tags],
    pgServices: [
      makePgService({
        connectionString: values["database-url"],
        schemas: ["public"],
        poolConfig: { max: Number(values["pool-size"]) },
      }),
    ],
    grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false },
    grafast: { explain: false },
  };
  const pgl = postgraphile(preset);
  await pgl.getSchema();
  const handler = pgl.createServ(grafserv).createHandler();
  const server = createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
      return;
    }
    handler(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(values.port), "127.0.0.1");
  process.on("SIGTERM", () => server.close(() => pgl.release().then(() => process.exit(0))));
}
