/**
 * The yardstick the API is measured against: a bare `node:http` server doing only the
 * JWT check, one pooled query and JSON.stringify for the todo list. Not part of the product;
 * `npm run bench -- --baseline` runs it next to the real server on the same database so the
 * ratio is measured on the same machine, not assumed.
 */
import { createServer } from "node:http";
import { jwtVerify } from "jose";
import pg from "pg";

const port = Number(process.env.PORT);
const secret = new TextEncoder().encode(process.env.JWT_SECRET);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const listQuery = {
  name: "baseline-list",
  text: `select id, title, description, due_date, completed, created_at, updated_at, count(*) over() as total
           from todos where user_id = $1 order by created_at desc, id desc limit 20`,
};

createServer(async (req, res) => {
  try {
    const token = req.headers.authorization?.slice("Bearer ".length) ?? "";
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ["HS256"],
      issuer: process.env.JWT_ISSUER,
      audience: process.env.JWT_AUDIENCE,
    });
    const { rows } = await pool.query({ ...listQuery, values: [payload.sub] });
    const body = JSON.stringify({
      items: rows.map(({ total: _total, ...todo }) => todo),
      total: Number(rows[0]?.total ?? 0),
      limit: 20,
      offset: 0,
    });
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  } catch {
    res.writeHead(401).end();
  }
}).listen(port, "127.0.0.1", () => console.log(`baseline listening on ${port}`));
