#!/usr/bin/env node
'use strict'
// seqsync-drizzle: writes the Drizzle schema (TypeScript) of a sync schema, read from a server's GET /schema or from
// a JSON file. Usage:
//   seqsync-drizzle --url https://sync.example.com [--token secret] [--out src/db/schema.ts]
//   seqsync-drizzle --schema schema.json [--out src/db/schema.ts]
const { writeFileSync, readFileSync } = require('node:fs')
const { parseArgs } = require('node:util')
const { drizzleSchema } = require('../drizzle.js')

async function schemaText({ url, token, schema }) {
  if (schema) return readFileSync(schema, 'utf8')
  if (!url) throw new Error('give --url (a sync server) or --schema (a JSON file)')
  const headers = token ? { authorization: `Bearer ${token}` } : {}
  const response = await fetch(new URL('schema', url.endsWith('/') ? url : `${url}/`), { headers })
  if (!response.ok) throw new Error(`GET ${url}/schema answered ${response.status}`)
  return response.text()
}

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' }, token: { type: 'string' }, schema: { type: 'string' }, out: { type: 'string' },
    },
  })
  const source = drizzleSchema(await schemaText(values))
  if (values.out) writeFileSync(values.out, source)
  else process.stdout.write(source)
}

main().catch((e) => {
  console.error(`seqsync-drizzle: ${e.message}`)
  process.exit(1)
})
