// Tiny DOM helpers. Text always goes through textContent, never through an HTML parser.

/** Creates an element with properties (className, textContent, type, …) and children. */
export function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** Replaces a <select>'s options with [value, label] pairs and selects `selected`. */
export function setOptions(select, pairs, selected) {
  select.replaceChildren(...pairs.map(([value, label]) => el("option", { value: String(value), textContent: label })));
  select.value = String(selected);
}

/** A labelled control: <label>text <control></label>. */
export function labelled(text, control, title = "") {
  return el("label", { className: "control", title }, [el("span", { textContent: text }), control]);
}

/** A view's section: heading, one-sentence intro, controls row, body. */
export function section(id, heading, intro) {
  const controls = el("div", { className: "controls" });
  const body = el("div", { className: "body" });
  const root = el("section", { className: "view", id: `view-${id}` }, [
    el("h2", { textContent: heading }),
    el("p", { className: "intro", textContent: intro }),
    controls,
    body,
  ]);
  root.setAttribute("role", "tabpanel");
  return { root, controls, body };
}
