/** Entry of the console bundle: takes the sign-in code out of the URL first, then renders the app. */
import './styles.css';
import { html, render } from 'htm/preact';
import { App } from './app.js';
import { takeSigninCode } from './signin.js';

// Before anything else runs or renders: the one-time code leaves the address bar and history now.
const signinCode = takeSigninCode();
const root = document.getElementById('app');
if (root) render(html`<${App} signinCode=${signinCode} />`, root);
