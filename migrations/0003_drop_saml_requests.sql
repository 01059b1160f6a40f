-- Login requests now travel in a cookie bound to the browser: nothing is stored before the IdP answers.
DROP TABLE saml_requests;
