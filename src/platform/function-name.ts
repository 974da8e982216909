/** Function names accepted in `/functions/v1/<name>` and forwarded to legacy. */
export const FUNCTION_NAME = /^[a-z0-9_-]{1,64}$/
