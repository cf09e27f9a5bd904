// Shortcuts never fire while the user types in a field (or holds a modifier).
export function isTyping(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return true;
  const el = event.target;
  if (!el || !el.tagName) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  if (tag === "input") {
    return !["checkbox", "radio", "button", "submit", "reset"].includes((el.type || "").toLowerCase());
  }
  return false;
}
