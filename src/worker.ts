// Placeholder while the Workers entry is built (issue 12).
export default {
  fetch(): Response {
    return new Response('not yet', { status: 503 });
  },
};
