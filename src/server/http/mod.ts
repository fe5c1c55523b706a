export { type HttpApi, type HttpApiOptions, startHttpApi } from "./server.ts";
export { HttpError } from "./errors.ts";
export { parseJson, stringifyJson } from "./json.ts";
