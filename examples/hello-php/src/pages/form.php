<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}
?>
<h1>Form</h1>
<p>Posted as <code>application/x-www-form-urlencoded</code> to <code>/form</code>.</p>
<form method="post" action="/form">
  <label>Name <input name="name" value="Ada" required></label>
  <label>Email <input name="email" type="email" value="ada@example.com"></label>
  <label>Message <textarea name="message" rows="3">Hello &amp; &lt;welcome&gt;</textarea></label>
  <fieldset>
    <legend>Favourite colours</legend>
    <label><input type="checkbox" name="colours[]" value="red" checked> red</label>
    <label><input type="checkbox" name="colours[]" value="green"> green</label>
    <label><input type="checkbox" name="colours[]" value="blue" checked> blue</label>
  </fieldset>
  <button type="submit">Send</button>
</form>
