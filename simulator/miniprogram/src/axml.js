// Reading a page's .axml template: which methods the getAuthorize button's events call.
//
// AXML is HTML-like markup with case-sensitive attribute names (`onGetAuthorize`), so it is
// tokenised with htmlparser2 (HTML mode, attribute and tag names kept as written) rather than by
// hand. Only `<button open-type="getAuthorize" scope="phoneNumber">` matters here.

import { Parser } from 'htmlparser2';

/** An error in a page's template (`.axml`): names the file, the line and what is wrong. */
export class AxmlError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AxmlError';
  }
}

/** The button events the runtime dispatches, and the attribute that names each handler. */
export const BUTTON_EVENTS = Object.freeze(['onGetAuthorize', 'onError']);

/**
 * Finds every `<button open-type="getAuthorize" scope="phoneNumber">` in an AXML template.
 *
 * @param {string} text the template
 * @param {string} [file] the template's path, for error messages
 * @returns {Array<{line: number, id: string|undefined, dataset: Record<string,string>,
 *   attributes: Record<string,string>, handlers: {onGetAuthorize?: string, onError?: string}}>}
 * @throws {AxmlError} when a handler attribute is empty or is a `{{ }}` expression
 */
export function findAuthorizeButtons(text, file = '<axml>') {
  if (typeof text !== 'string') throw new AxmlError(`${file}: the template must be a string`);
  const found = [];
  let problem = null;
  const lineAt = (index) => text.slice(0, index).split('\n').length;
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (problem || name.toLowerCase() !== 'button') return;
        if (attributes['open-type'] !== 'getAuthorize' || attributes.scope !== 'phoneNumber') return;
        const line = lineAt(parser.startIndex);
        const handlers = {};
        for (const event of BUTTON_EVENTS) {
          if (!(event in attributes)) continue;
          const value = attributes[event].trim();
          if (value === '' || value.includes('{{')) {
            problem = new AxmlError(
              `${file}:${line}: ${event}=${JSON.stringify(attributes[event])} on the getAuthorize button: ` +
                'expected the name of a Page method (data-bound handler names are not supported)',
            );
            return;
          }
          handlers[event] = value;
        }
        const dataset = {};
        for (const [key, value] of Object.entries(attributes)) {
          if (key.startsWith('data-')) dataset[camelCase(key.slice(5))] = value;
        }
        found.push({ line, id: attributes.id, dataset, attributes: { ...attributes }, handlers });
      },
    },
    { lowerCaseTags: false, lowerCaseAttributeNames: false, recognizeSelfClosing: true, decodeEntities: true },
  );
  parser.write(text);
  parser.end();
  if (problem) throw problem;
  return found;
}

function camelCase(s) {
  return s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}
