// "My tasks": photos chosen for a verify or check outcome are shrunk on the phone (JPEG, at
// most data-max-side pixels) before the form is posted; the form itself works without this.
import { shrink } from "./inspector_photos.js";

document.querySelectorAll("form.task-form").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    const input = form.querySelector('input[type="file"]');
    if (!input || !input.files.length || form.dataset.shrunk === "true") return;
    event.preventDefault();
    const maxSide = parseInt(input.dataset.maxSide, 10) || 2048;
    const transfer = new DataTransfer();
    for (const [index, file] of Array.from(input.files).entries()) {
      try {
        const blob = await shrink(file, maxSide);
        transfer.items.add(new File([blob], `photo-${index + 1}.jpg`, { type: "image/jpeg" }));
      } catch (error) {
        transfer.items.add(file); // not a picture: the server says so next to the field
      }
    }
    input.files = transfer.files;
    form.dataset.shrunk = "true";
    form.submit();
  });
});
