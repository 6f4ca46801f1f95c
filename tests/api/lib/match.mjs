// match.mjs: the deep partial match of the case files' "expect.json".
//
// An expected value matches an actual value when:
//   - object: every expected key matches the actual key (extra actual keys are fine);
//     { "key": { "$absent": true } } requires the key to be missing
//   - array: the actual array is at least as long and matches position by position
//   - scalar: strictly equal
//   - operator object (one key starting with "$"):
//       { "$type": "integer" | "number" | "string" | "boolean" | "array" | "object" | "null" }
//       { "$regex": "^...$" }          a string matching the regular expression
//       { "$each": <expected> }         a non-empty array whose every element matches
//       { "$gte": n } / { "$lte": n }   a number in range

const OPERATORS = new Set(['$type', '$regex', '$each', '$gte', '$lte', '$absent']);

function isOperator(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 &&
    Object.keys(v).every((k) => OPERATORS.has(k));
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

const show = (v) => {
  const s = JSON.stringify(v);
  return s && s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

/** Returns a list of mismatch descriptions (empty when actual matches expected). */
export function mismatches(actual, expected, where = '$') {
  const out = [];
  if (isOperator(expected)) {
    for (const [op, arg] of Object.entries(expected)) {
      switch (op) {
        case '$type': {
          const t = typeOf(actual);
          const ok = arg === 'integer' ? Number.isInteger(actual) : t === arg;
          if (!ok) out.push(`${where}: expected a ${arg}, got ${show(actual)}`);
          break;
        }
        case '$regex':
          if (typeof actual !== 'string' || !new RegExp(arg, 'u').test(actual)) {
            out.push(`${where}: expected a string matching /${arg}/, got ${show(actual)}`);
          }
          break;
        case '$each':
          if (!Array.isArray(actual) || actual.length === 0) {
            out.push(`${where}: expected a non-empty array, got ${show(actual)}`);
          } else {
            actual.forEach((el, i) => out.push(...mismatches(el, arg, `${where}[${i}]`)));
          }
          break;
        case '$gte':
          if (typeof actual !== 'number' || !(actual >= arg)) out.push(`${where}: expected a number >= ${arg}, got ${show(actual)}`);
          break;
        case '$lte':
          if (typeof actual !== 'number' || !(actual <= arg)) out.push(`${where}: expected a number <= ${arg}, got ${show(actual)}`);
          break;
        case '$absent':
          // Handled by the enclosing object; reaching here means the key exists.
          if (arg) out.push(`${where}: expected no such key, got ${show(actual)}`);
          break;
        default:
          out.push(`${where}: unknown operator ${op}`);
      }
    }
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${where}: expected an array, got ${show(actual)}`];
    if (actual.length < expected.length) out.push(`${where}: expected at least ${expected.length} elements, got ${actual.length}`);
    expected.forEach((el, i) => {
      if (i < actual.length) out.push(...mismatches(actual[i], el, `${where}[${i}]`));
    });
    return out;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${where}: expected an object, got ${show(actual)}`];
    }
    for (const [k, v] of Object.entries(expected)) {
      const absentWanted = isOperator(v) && v.$absent === true;
      if (!Object.hasOwn(actual, k)) {
        if (!absentWanted) out.push(`${where}.${k}: missing (expected ${show(v)})`);
        continue;
      }
      out.push(...mismatches(actual[k], v, `${where}.${k}`));
    }
    return out;
  }
  if (actual !== expected) out.push(`${where}: expected ${show(expected)}, got ${show(actual)}`);
  return out;
}
