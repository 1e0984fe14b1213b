/**
 * A tiny element builder. It never sets a `style` attribute: the CSP allows
 * no inline styles, so looks come from dashboard.css classes and positions
 * from the CSSOM (`element.style.left = …`), which CSP does not govern.
 */
export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  title?: string;
  id?: string;
  role?: string;
  attrs?: Record<string, string>;
  dataset?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  return decorate(document.createElement(tag), props, children);
}

/** The same for custom elements (only webview/ui.ts makes those). */
export function custom(tag: string, props: Props = {}, ...children: Child[]): HTMLElement {
  return decorate(document.createElement(tag), props, children);
}

function decorate<E extends HTMLElement>(element: E, props: Props, children: Child[]): E {
  if (props.class) element.className = props.class;
  if (props.id) element.id = props.id;
  if (props.title) element.title = props.title;
  if (props.role) element.setAttribute('role', props.role);
  if (props.attrs) for (const [name, value] of Object.entries(props.attrs)) element.setAttribute(name, value);
  if (props.dataset) Object.assign(element.dataset, props.dataset);
  if (props.on) {
    for (const [name, listener] of Object.entries(props.on)) element.addEventListener(name, listener as EventListener);
  }
  if (props.text !== undefined) element.textContent = props.text;
  append(element, children);
  return element;
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces an element's children. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Sets text only when it changed (no layout work for an unchanged cell). */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/** Toggles a class only when needed. */
export function setClass(element: Element, name: string, on: boolean): void {
  if (element.classList.contains(name) !== on) element.classList.toggle(name, on);
}
