// A form drawn from a kind's JSON Schema (GET /api/kinds): one field per param.

import FormControlLabel from "@mui/material/FormControlLabel";
import MenuItem from "@mui/material/MenuItem";
import Stack from "@mui/material/Stack";
import Switch from "@mui/material/Switch";
import TextField from "@mui/material/TextField";
import type { JsonSchema } from "../api/types";

export type FormValues = Record<string, string | boolean>;

interface Field {
  name: string;
  label: string;
  type: "string" | "integer" | "number" | "boolean" | "array" | "json" | "date";
  itemType?: string;
  required: boolean;
  enum?: unknown[];
  default?: unknown;
  help?: string;
}

function plain(schema: JsonSchema): JsonSchema {
  const options = (schema.anyOf ?? []).filter((s) => s.type !== "null");
  return options.length >= 1 && !schema.type ? { ...options[0], ...schema, anyOf: undefined, type: options[0].type } : schema;
}

export function fieldsOf(schema: JsonSchema): Field[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, raw]) => {
    const s = plain(raw);
    const t = Array.isArray(s.type) ? s.type[0] : s.type;
    let type: Field["type"] = "json";
    if (t === "boolean") type = "boolean";
    else if (t === "integer") type = "integer";
    else if (t === "number") type = "number";
    else if (t === "string") type = s.format === "date" ? "date" : "string";
    else if (t === "array" && s.items && ["string", "integer", "number"].includes(String(s.items.type))) type = "array";
    return {
      name,
      label: s.title ?? name,
      type,
      itemType: s.items?.type as string | undefined,
      required: required.has(name),
      enum: s.enum,
      default: raw.default,
      help: s.description,
    };
  });
}

/** The params to send: only the fields given, each as its type. Throws `{field, message}`. */
export function paramsOf(schema: JsonSchema, values: FormValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fieldsOf(schema)) {
    const v = values[f.name];
    if (f.type === "boolean") {
      if (v !== undefined && v !== (f.default ?? false)) out[f.name] = v;
      continue;
    }
    const text = typeof v === "string" ? v.trim() : "";
    if (!text) {
      if (f.required) throw { field: f.name, message: `${f.label} is required` };
      continue;
    }
    if (f.type === "integer" || f.type === "number") {
      const n = Number(text);
      if (!Number.isFinite(n) || (f.type === "integer" && !Number.isInteger(n))) throw { field: f.name, message: `${f.label}: give a${f.type === "integer" ? "n integer" : " number"}` };
      out[f.name] = n;
    } else if (f.type === "array") {
      const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
      out[f.name] = f.itemType === "string" ? parts : parts.map(Number);
    } else if (f.type === "json") {
      try {
        out[f.name] = JSON.parse(text);
      } catch {
        out[f.name] = text; // a plain string where the schema allows several types
      }
    } else out[f.name] = text;
  }
  return out;
}

export default function SchemaForm({
  schema,
  values,
  onChange,
  errors,
  idPrefix,
}: {
  schema: JsonSchema;
  values: FormValues;
  onChange: (v: FormValues) => void;
  errors: Record<string, string>;
  idPrefix: string;
}) {
  const fields = fieldsOf(schema);
  if (!fields.length) return null;
  const set = (name: string, v: string | boolean) => onChange({ ...values, [name]: v });
  return (
    <Stack direction="row" spacing={2} useFlexGap flexWrap="wrap">
      {fields.map((f) => {
        const id = `${idPrefix}-${f.name}`;
        const def = f.default === null || f.default === undefined || (Array.isArray(f.default) && !f.default.length) ? undefined : String(f.default);
        if (f.type === "boolean")
          return (
            <FormControlLabel
              key={f.name}
              control={<Switch id={id} checked={(values[f.name] as boolean | undefined) ?? Boolean(f.default)} onChange={(e) => set(f.name, e.target.checked)} />}
              label={f.label}
            />
          );
        const helper = errors[f.name] ?? (f.type === "array" ? "Comma-separated" : f.help ?? (def ? `Default: ${def}` : f.required ? "Required" : undefined));
        return (
          <TextField
            key={f.name}
            id={id}
            label={f.label}
            required={f.required}
            size="small"
            sx={{ minWidth: 200, flex: "1 1 200px" }}
            type={f.type === "integer" || f.type === "number" ? "number" : f.type === "date" ? "date" : "text"}
            select={!!f.enum}
            value={(values[f.name] as string | undefined) ?? ""}
            onChange={(e) => set(f.name, e.target.value)}
            error={!!errors[f.name]}
            helperText={helper}
            placeholder={def}
            slotProps={{
              inputLabel: f.type === "date" ? { shrink: true } : undefined,
              htmlInput: { "data-param": f.name, step: f.type === "number" ? "any" : undefined },
            }}
          >
            {f.enum?.map((o) => (
              <MenuItem key={String(o)} value={String(o)}>
                {String(o)}
              </MenuItem>
            ))}
          </TextField>
        );
      })}
    </Stack>
  );
}
