import assert from "node:assert/strict";
import { test } from "node:test";
import { maskDeep, maskSecrets } from "../../src/core/mask.js";
import { safeUrl } from "../../src/store/serverSchema.js";

test("maskSecrets masks the password of every URL in a text, and password-like query parameters", () => {
  const cases: [string, string][] = [
    ["redis://:hunter2@127.0.0.1:6379", "redis://:***@127.0.0.1:6379"],
    ["rediss://default:hunter2@h:6380/0", "rediss://default:***@h:6380/0"],
    ["http://root:hunter2@127.0.0.1:2379,http://root:hunter3@127.0.0.1:2380", "http://root:***@127.0.0.1:2379,http://root:***@127.0.0.1:2380"],
    ["postgres://app:p@ss@db:5432/x?sslmode=require&password=hunter2", "postgres://app:***@db:5432/x?sslmode=require&password=***"],
    ["cannot reach etcd at http://u:hunter2@h:1 (refused): start etcd", "cannot reach etcd at http://u:***@h:1 (refused): start etcd"],
    ["mysql://root@127.0.0.1:3306/test", "mysql://root@127.0.0.1:3306/test"],
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
    ["no url here: a=b", "no url here: a=b"],
    // Text after a URL without credentials is never taken for its userinfo: JSON, a nemesis, a quoted URL.
    ['{"redis":"redis://127.0.0.1:6379","nemeses":["restart:redis@1s"]}', '{"redis":"redis://127.0.0.1:6379","nemeses":["restart:redis@1s"]}'],
    ["pause:instance:3s@1s", "pause:instance:3s@1s"],
    ['"postgres://u:hunter2@db/x"', '"postgres://u:***@db/x"'],
  ];
  for (const [input, masked] of cases) {
    assert.equal(maskSecrets(input), masked, input);
    assert.equal(maskSecrets(masked), masked, "idempotent");
  }
});

test("the PostgreSQL/MySQL display form uses the same masking", () => {
  assert.equal(safeUrl("postgres://app:hunter2@db:5432/x?schema=s"), "postgres://app:***@db:5432/x");
});

test("maskDeep masks every string of a report, nested or a key", () => {
  const masked = maskDeep({ a: ["redis://:pw1@h"], b: { c: "http://u:pw2@h", n: 3, z: null }, ["http://u:pw3@h"]: true });
  assert.ok(!JSON.stringify(masked).match(/pw\d/), JSON.stringify(masked));
  assert.equal(masked.b.n, 3);
});
