import { UriTemplate } from '@modelcontextprotocol/client'

/**
 * Whether a server listing `resources` and `templates` serves `uri`: it is
 * one of the resources, or matches one of the templates (RFC 6570, matched
 * as the MCP SDK matches them).
 */
export function servesUri(
  uri: string,
  resources: readonly { uri: string }[],
  templates: readonly { uriTemplate: string }[]
): boolean {
  if (resources.some((resource) => resource.uri === uri)) return true
  return templates.some((template) => new UriTemplate(template.uriTemplate).match(uri) != null)
}
