// A tiny element builder. Text always goes in as text nodes (never innerHTML), so nothing the
// server or a user typed can become markup.

type Attrs = Record<string, string | boolean | undefined | ((event: Event) => void)>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(name.replace(/^on/, ''), value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else if (name === 'value' && 'value' in el) {
      (el as HTMLInputElement).value = value;
    } else {
      el.setAttribute(name, value);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/// The element with `data-testid` `id` (the page's ids double as its automation contract).
export function byTestId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`missing element ${id}`);
  return el;
}

export function inputValue(id: string): string {
  return byTestId<HTMLInputElement>(id).value;
}

/// A labelled input; `testid` is also its id, so the label is tied to it.
export function field(
  label: string,
  testid: string,
  attrs: Attrs = {},
): HTMLLabelElement {
  return h('label', { for: testid }, label, h('input', { id: testid, 'data-testid': testid, ...attrs }));
}

export function replace(container: HTMLElement, ...children: Child[]): void {
  container.replaceChildren();
  for (const child of children) {
    if (child) container.append(child);
  }
}
