import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes a new SQL migration from db/schema.ts. The SQL
// files are committed and applied at start-up by db/database.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});
